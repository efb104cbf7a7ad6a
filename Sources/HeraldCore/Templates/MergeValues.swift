/// What a template is rendered with for one recipient: the record's values, its owner,
/// the sender, and values the sending engine adds (`unsubscribe_url`, …).
///
/// ```swift
/// let values = MergeValues(record: record,
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
    public init(record: Record, owner: Person? = nil, sender: Sender? = nil, extra: [String: String] = [:]) {
        // Over the record's own values (a mass email's batch reads only the fields its
        // templates use), not the module's every field: one lookup a value, not a field.
        // A template names only the module's fields, checked when it compiles.
        var fields: [String: String] = [:]
        fields.reserveCapacity(record.values.count)
        for (name, value) in record.values {
            let text = value.text
            if !text.isEmpty { fields[name] = text }
        }
        self.init(fields: fields, owner: owner, sender: sender, extra: extra)
    }
}
