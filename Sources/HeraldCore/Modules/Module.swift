/// A module: Leads, Contacts, Deals, or one a team created, with its fields.
public struct Module: Sendable, Hashable, Codable {
    public var id: Int64
    /// Stable identifier: `leads`, `contacts`, `deals`, or a custom one.
    public var apiName: String
    public var singularLabel: String
    public var pluralLabel: String
    public var isBuiltin: Bool
    /// Fields in display order.
    public var fields: [Field]

    public init(id: Int64 = 0, apiName: String, singularLabel: String, pluralLabel: String,
                isBuiltin: Bool = false, fields: [Field] = []) {
        self.id = id
        self.apiName = apiName
        self.singularLabel = singularLabel
        self.pluralLabel = pluralLabel
        self.isBuiltin = isBuiltin
        self.fields = fields
    }

    /// The table that holds this module's records.
    public var table: String { "rec_" + apiName }

    public func field(_ apiName: String) -> Field? { fields.first { $0.apiName == apiName } }

    /// Fields that users set (all but the system ones).
    public var editableFields: [Field] { fields.filter { !$0.isSystem } }

    /// The field that holds the person's email address, if the module has people in it.
    public var emailField: Field? { field(BuiltinFields.email) ?? fields.first { $0.type == .email } }

    /// The `Email Opt Out` flag of modules with people in them.
    public var optOutField: Field? { field(BuiltinFields.emailOptOut) }

    /// A field that names a record in lists and lookups: the first text field that reads as a name.
    public var titleFields: [Field] {
        let preferred = ["first_name", "last_name"].compactMap { field($0) }
        if preferred.count == 2 { return preferred }
        for name in ["deal_name", "name", "subject", "title"] { if let f = field(name) { return [f] } }
        return fields.first { $0.type == .text }.map { [$0] } ?? []
    }
}

/// API names that Herald itself relies on.
public enum BuiltinFields {
    public static let email = "email"
    public static let emailOptOut = "email_opt_out"
    public static let owner = "owner"
    public static let createdAt = "created_at"
    public static let modifiedAt = "modified_at"

    /// Fields every module has: its owner and its created and modified times.
    public static func common(startingAt position: Int) -> [Field] {
        [
            Field(apiName: owner, label: "Owner", type: .user, isRequired: true, isBuiltin: true, position: position),
            Field(apiName: createdAt, label: "Created", type: .datetime, isBuiltin: true, isSystem: true, position: position + 1),
            Field(apiName: modifiedAt, label: "Modified", type: .datetime, isBuiltin: true, isSystem: true, position: position + 2),
        ]
    }

    /// The email field and opt-out flag of a module with people in it.
    public static func people(startingAt position: Int) -> [Field] {
        [
            Field(apiName: email, label: "Email", type: .email, isBuiltin: true, position: position),
            Field(apiName: emailOptOut, label: "Email Opt Out", type: .boolean, isBuiltin: true, position: position + 1),
        ]
    }
}

/// The definitions of Leads, Contacts and Deals as a new organisation gets them.
public enum BuiltinModules {
    public static var all: [Module] { [leads, contacts, deals] }

    static func numbered(_ fields: [Field]) -> [Field] {
        fields.enumerated().map { i, f in
            var f = f
            f.position = i
            f.isBuiltin = true
            return f
        }
    }

    public static var leads: Module {
        Module(apiName: "leads", singularLabel: "Lead", pluralLabel: "Leads", isBuiltin: true, fields: numbered([
            Field(apiName: "first_name", label: "First Name", type: .text),
            Field(apiName: "last_name", label: "Last Name", type: .text, isRequired: true),
            Field(apiName: "company", label: "Company", type: .text),
        ] + BuiltinFields.people(startingAt: 0) + [
            Field(apiName: "phone", label: "Phone", type: .phone),
            Field(apiName: "country", label: "Country", type: .text),
            Field(apiName: "lead_status", label: "Lead Status", type: .picklist, picklistValues: [
                "Not Contacted", "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead", "Lost Lead", "Qualified",
            ]),
            Field(apiName: "lead_source", label: "Lead Source", type: .picklist, picklistValues: [
                "Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store", "Partner",
                "Public Relations", "Seminar", "Trade Show", "Web Download", "Web Research", "Chat",
            ]),
        ] + BuiltinFields.common(startingAt: 0)))
    }

    public static var contacts: Module {
        Module(apiName: "contacts", singularLabel: "Contact", pluralLabel: "Contacts", isBuiltin: true, fields: numbered([
            Field(apiName: "first_name", label: "First Name", type: .text),
            Field(apiName: "last_name", label: "Last Name", type: .text, isRequired: true),
            Field(apiName: "account_name", label: "Account Name", type: .text),
        ] + BuiltinFields.people(startingAt: 0) + [
            Field(apiName: "phone", label: "Phone", type: .phone),
            Field(apiName: "title", label: "Title", type: .text),
            Field(apiName: "mailing_city", label: "Mailing City", type: .text),
            Field(apiName: "mailing_country", label: "Mailing Country", type: .text),
            Field(apiName: "lead_source", label: "Lead Source", type: .picklist, picklistValues: [
                "Advertisement", "Cold Call", "Employee Referral", "External Referral", "Partner", "Seminar",
                "Trade Show", "Web Download", "Web Research",
            ]),
        ] + BuiltinFields.common(startingAt: 0)))
    }

    public static var deals: Module {
        Module(apiName: "deals", singularLabel: "Deal", pluralLabel: "Deals", isBuiltin: true, fields: numbered([
            Field(apiName: "deal_name", label: "Deal Name", type: .text, isRequired: true),
            Field(apiName: "amount", label: "Amount", type: .currency),
            Field(apiName: "stage", label: "Stage", type: .picklist, isRequired: true, picklistValues: [
                "Qualification", "Needs Analysis", "Value Proposition", "Proposal/Price Quote",
                "Negotiation/Review", "Closed Won", "Closed Lost",
            ]),
            Field(apiName: "closing_date", label: "Closing Date", type: .date),
            Field(apiName: "contact", label: "Contact", type: .lookup, lookupModule: "contacts"),
        ] + BuiltinFields.common(startingAt: 0)))
    }
}
