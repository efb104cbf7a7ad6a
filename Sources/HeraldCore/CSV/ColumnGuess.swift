/// Which field a CSV column's header most likely means, for the import's mapping page to
/// preselect (a suggestion the person confirms; an import without a mapping takes only exact
/// names, see `Importer.plan`).
public enum ColumnGuess {
    /// The field of `fields` that `header` names: by API name or label with case, spaces and
    /// punctuation ignored ("E-mail", "first name", "LAST_NAME"), else by a common other name
    /// for the same thing ("Surname", "Company", "Country"), the first of its candidates that
    /// `fields` has.
    public static func field(for header: String, among fields: [Field]) -> Field? {
        let key = normalized(header)
        guard !key.isEmpty else { return nil }
        if let exact = fields.first(where: { normalized($0.apiName) == key || normalized($0.label) == key }) { return exact }
        for apiName in synonyms[key] ?? [] {
            if let field = fields.first(where: { $0.apiName == apiName }) { return field }
        }
        return nil
    }

    /// Lower-case letters and digits only.
    static func normalized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) }))
    }

    /// Other names a header gives the built-in modules' fields, by normalized header: the
    /// candidates in order (a contact's company is its account name, a lead's its company).
    static let synonyms: [String: [String]] = [
        "surname": ["last_name"], "familyname": ["last_name"], "lastname": ["last_name"],
        "givenname": ["first_name"], "forename": ["first_name"], "firstname": ["first_name"],
        "mail": ["email"], "emailaddress": ["email"], "email": ["email"],
        "company": ["company", "account_name"], "companyname": ["company", "account_name"], "organisation": ["company", "account_name"],
        "organization": ["company", "account_name"], "account": ["account_name", "company"],
        "country": ["country", "mailing_country"], "city": ["city", "mailing_city"], "town": ["city", "mailing_city"],
        "telephone": ["phone"], "tel": ["phone"], "phonenumber": ["phone"], "mobile": ["phone"],
        "jobtitle": ["title"], "position": ["title"], "source": ["lead_source"],
    ]
}
