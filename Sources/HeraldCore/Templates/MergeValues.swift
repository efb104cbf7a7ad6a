/// What a template is rendered with for one recipient: the record's values, its owner,
/// the sender, and values the sending engine adds (`unsubscribe_url`, …).
///
/// ```swift
/// let values = MergeValues(record: record, module: contacts,
///                          owner: .init(name: "Ada Admin", email: "ada@example.com"), sender: sender)
/// let mail = compiled.render(values)
/// ```
public struct MergeValues: Sendable, Hashable {
    /// A person named by `owner.name` and `owner.email`.
    public struct Person: Sendable, Hashable {
        public var name: String
        public var email: String
        public init(name: String, email: String) {
            self.name = name
            self.email = email
        }
    }

    /// Display text by field API name; an empty field is absent.
    public var fields: [String: String]
    public var owner: Person?
    public var sender: Sender?
    /// Values by name for the template's `extraNames`.
    public var extra: [String: String]

    public init(fields: [String: String] = [:], owner: Person? = nil, sender: Sender? = nil, extra: [String: String] = [:]) {
        self.fields = fields
        self.owner = owner
        self.sender = sender
        self.extra = extra
    }

    /// The values of `record`, each field as the text a user types (``FieldValue/text``).
    public init(record: Record, module: Module, owner: Person? = nil, sender: Sender? = nil, extra: [String: String] = [:]) {
        var fields: [String: String] = [:]
        fields.reserveCapacity(record.values.count)
        for field in module.fields {
            if let value = record.values[field.apiName]?.text, !value.isEmpty { fields[field.apiName] = value }
        }
        self.init(fields: fields, owner: owner, sender: sender, extra: extra)
    }
}
