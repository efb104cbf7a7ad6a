/// A field of a module: its stable API name, its label, its type and its rules.
public struct Field: Sendable, Hashable, Codable {
    public var id: Int64
    /// The stable identifier used in the API, in views and in merge fields. Never changes.
    public var apiName: String
    /// What users see; can be renamed.
    public var label: String
    public var type: FieldType
    public var isRequired: Bool
    /// Built-in fields cannot be deleted or change type.
    public var isBuiltin: Bool
    /// System fields (created and modified times) are set by Herald, never by users.
    public var isSystem: Bool
    /// The allowed values of a picklist, in display order.
    public var picklistValues: [String]
    /// For a lookup: the API name of the module it points to.
    public var lookupModule: String?
    public var position: Int

    public init(
        id: Int64 = 0, apiName: String, label: String, type: FieldType, isRequired: Bool = false,
        isBuiltin: Bool = false, isSystem: Bool = false, picklistValues: [String] = [],
        lookupModule: String? = nil, position: Int = 0
    ) {
        self.id = id
        self.apiName = apiName
        self.label = label
        self.type = type
        self.isRequired = isRequired
        self.isBuiltin = isBuiltin
        self.isSystem = isSystem
        self.picklistValues = picklistValues
        self.lookupModule = lookupModule
        self.position = position
    }

    /// The column that stores this field in its module's table. API names are checked
    /// identifiers (``APIName``), so the column name is safe to use as an SQL identifier.
    public var column: String { "f_" + apiName }
}

/// The rules for API names of modules and fields: they become SQL identifiers.
public enum APIName {
    public static let maxLength = 40

    /// Checks `name`; returns the reason it is not acceptable, or nil.
    public static func problem(with name: String) -> String? {
        guard !name.isEmpty else { return "must not be empty" }
        guard name.count <= maxLength else { return "must be at most \(maxLength) characters" }
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else {
            return "must start with a lowercase letter a-z"
        }
        guard name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) else {
            return "may contain only lowercase letters a-z, digits and underscores"
        }
        return nil
    }

    /// Makes an API name from a label: `Mailing City` → `mailing_city`.
    public static func from(label: String) -> String {
        var out = ""
        var lastUnderscore = true
        for scalar in label.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                out.unicodeScalars.append(scalar)
                lastUnderscore = false
            } else if !lastUnderscore {
                out.append("_")
                lastUnderscore = true
            }
        }
        while out.hasSuffix("_") { out.removeLast() }
        if let first = out.unicodeScalars.first, !("a"..."z").contains(first) { out = "f_" + out }
        if out.isEmpty { out = "field" }
        return String(out.prefix(maxLength))
    }
}
