import HeraldCore
import Testing

/// The import's mapping page preselects the field a column's header most likely means.
@Suite struct ColumnGuessTests {
    @Test(arguments: [
        // Names as Herald spells them, in any case and punctuation.
        ("email", "email"), ("E-mail", "email"), ("EMAIL ", "email"), ("First name", "first_name"), ("last_name", "last_name"),
        ("Mailing Country", "mailing_country"), ("Lead Source", "lead_source"),
        // What other tools and people call them.
        ("Surname", "last_name"), ("Family name", "last_name"), ("Given name", "first_name"), ("Forename", "first_name"),
        ("Email address", "email"), ("Company", "account_name"), ("Organisation", "account_name"), ("Country", "mailing_country"),
        ("City", "mailing_city"), ("Telephone", "phone"), ("Job title", "title"),
        // Nothing sure: left for the person to map.
        ("Name", nil), ("Notes", nil), ("", nil), ("-", nil),
    ] as [(String, String?)])
    func aContactsColumn(header: String, field: String?) {
        #expect(ColumnGuess.field(for: header, among: BuiltinModules.contacts.fields)?.apiName == field)
    }

    @Test func aLeadsCompanyIsItsOwnField() {
        #expect(ColumnGuess.field(for: "Company", among: BuiltinModules.leads.fields)?.apiName == "company")
        #expect(ColumnGuess.field(for: "Country", among: BuiltinModules.leads.fields)?.apiName == "country")
        // A field the person may not import is not offered.
        let withoutEmail = BuiltinModules.contacts.fields.filter { $0.apiName != "email" }
        #expect(ColumnGuess.field(for: "E-mail", among: withoutEmail) == nil)
    }
}
