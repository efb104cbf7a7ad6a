/// A record of a module: its id and the values of its fields (owner and times included).
public struct Record: Sendable, Hashable {
    public var id: Int64
    /// Values by field API name; a field that is empty is absent.
    public var values: [String: FieldValue]

    public init(id: Int64, values: [String: FieldValue]) {
        self.id = id
        self.values = values
    }

    public subscript(_ field: String) -> FieldValue? { values[field] }

    public var ownerID: Int64? {
        if case .reference(let id)? = values[BuiltinFields.owner] { id } else { nil }
    }

    /// The record as the JSON API returns it: `id` and every field, null where empty.
    public func json(in module: Module) -> [String: JSONValue] {
        var out: [String: JSONValue] = ["id": .number(Double(id))]
        for field in module.fields { out[field.apiName] = values[field.apiName]?.json ?? .null }
        return out
    }

    /// A short human name for the record, made from its title fields.
    public func title(in module: Module) -> String {
        let parts = module.titleFields.compactMap { values[$0.apiName]?.text }
        let joined = parts.joined(separator: " ")
        return joined.isEmpty ? "\(module.singularLabel) #\(id)" : joined
    }
}

/// What a create or an update asks to set: checked values by field, `nil` meaning "clear".
public struct RecordChanges: Sendable, Hashable {
    public var values: [String: FieldValue?]
    public init(_ values: [String: FieldValue?] = [:]) { self.values = values }

    /// Changes that set each of `fields` to the value in the same place of `values` (nil: clear it).
    public init(fields: [Field], values: [FieldValue?]) {
        var changes: [String: FieldValue?] = [:]
        changes.reserveCapacity(fields.count)
        for (field, value) in zip(fields, values) { changes[field.apiName] = .some(value) }
        self.values = changes
    }

    /// Checks raw inputs against `module`: unknown and system fields, types, required fields.
    ///
    /// On create every required field must have a value; on update only the fields sent are
    /// checked, and clearing a required one is refused. Every problem is reported, not the first.
    public static func validate(
        _ inputs: [String: FieldInput], module: Module, creating: Bool
    ) -> Result<RecordChanges, HeraldError> {
        var problems = ProblemList()
        var known: [(Field, FieldInput)] = []
        known.reserveCapacity(inputs.count)
        for (name, input) in inputs.sorted(by: { $0.key < $1.key }) {
            guard let field = module.field(name) else {
                problems.add(name, "no field '\(name)' in module \(module.pluralLabel)")
                continue
            }
            if field.isSystem {
                problems.add(name, "is set by Herald and cannot be changed")
                continue
            }
            known.append((field, input))
        }
        return values(of: known, module: module, creating: creating, problems: problems, named: { inputs[$0] != nil })
            .map { RecordChanges(fields: known.map(\.0), values: $0) }
    }

    /// ``validate(_:module:creating:)`` for inputs already matched to fields that users may set
    /// (a CSV import's columns, worked out once from its header): the values in the inputs'
    /// order, nil where one is empty, without a lookup by name or a dictionary a row.
    public static func validatedValues(_ inputs: [(Field, FieldInput)], module: Module, creating: Bool) -> Result<[FieldValue?], HeraldError> {
        values(of: inputs, module: module, creating: creating, problems: ProblemList(),
               named: { name in inputs.contains { $0.0.apiName == name } })
    }

    private static func values(
        of inputs: [(Field, FieldInput)], module: Module, creating: Bool, problems: ProblemList, named: (String) -> Bool
    ) -> Result<[FieldValue?], HeraldError> {
        var problems = problems
        var values: [FieldValue?] = []
        values.reserveCapacity(inputs.count)
        for (field, input) in inputs {
            switch FieldValueParser.parse(input, for: field) {
            case .success(let value):
                if value == nil, field.isRequired { problems.add(field.apiName, "is required") }
                values.append(value)
            case .failure(let problem):
                problems.add(problem)
                values.append(nil)
            }
        }
        if creating {
            for field in module.fields where field.isRequired && !field.isSystem && field.apiName != BuiltinFields.owner
                && !named(field.apiName) {
                problems.add(field.apiName, "is required")
            }
        }
        if !problems.isEmpty { return .failure(.invalid(problems.problems)) }
        return .success(values)
    }
}
