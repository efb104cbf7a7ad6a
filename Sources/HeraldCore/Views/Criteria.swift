import Foundation

/// The operators of a view's conditions (SPEC §1). The raw value is the API name.
public enum ConditionOperator: String, Sendable, Codable, CaseIterable {
    case equals
    case notEquals = "not_equals"
    case contains
    case notContains = "not_contains"
    case startsWith = "starts_with"
    case isEmpty = "is_empty"
    case isNotEmpty = "is_not_empty"
    case greaterThan = "greater_than"
    case lessThan = "less_than"
    case between
    case inList = "in"
    case before
    case after
    case withinLastDays = "within_last_days"
    case withinNextDays = "within_next_days"

    /// What the user reads in the view editor.
    public var label: String {
        switch self {
        case .equals: "is"
        case .notEquals: "is not"
        case .contains: "contains"
        case .notContains: "does not contain"
        case .startsWith: "starts with"
        case .isEmpty: "is empty"
        case .isNotEmpty: "is not empty"
        case .greaterThan: "greater than"
        case .lessThan: "less than"
        case .between: "between"
        case .inList: "is any of"
        case .before: "before"
        case .after: "after"
        case .withinLastDays: "within the last N days"
        case .withinNextDays: "within the next N days"
        }
    }

    /// Whether the operator applies to fields of `type`.
    public func applies(to type: FieldType) -> Bool {
        switch self {
        case .equals, .notEquals, .isEmpty, .isNotEmpty: true
        case .contains, .notContains, .startsWith: type.isTextual
        case .greaterThan, .lessThan, .between: type.isOrdered
        case .inList: type.isTextual || type == .number || type == .lookup || type == .user
        case .before, .after, .withinLastDays, .withinNextDays: type.isTemporal
        }
    }

    /// The operators offered for a field of `type`, in the editor's order.
    public static func offered(for type: FieldType) -> [ConditionOperator] {
        allCases.filter { $0.applies(to: type) }
    }
}

/// A view's filter as the user wrote it: a tree of all/any groups over conditions.
///
/// JSON form: `{"all": [{"field": "country", "op": "equals", "value": "DE"},
/// {"any": [...]}]}`. A condition's `value` is one value, or a list for `in` and `between`;
/// `within_*_days` takes a whole number of days.
public indirect enum Criteria: Sendable, Hashable, Codable {
    case all([Criteria])
    case any([Criteria])
    case condition(field: String, op: ConditionOperator, value: JSONValue)

    /// Matches every record.
    public static let everything = Criteria.all([])

    public init(from decoder: any Decoder) throws {
        let json = try JSONValue(from: decoder)
        switch Criteria.parse(json, path: "criteria") {
        case .success(let c): self = c
        case .failure(let e): throw e
        }
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    public var json: JSONValue {
        switch self {
        case .all(let items): .object(["all": .array(items.map(\.json))])
        case .any(let items): .object(["any": .array(items.map(\.json))])
        case .condition(let field, let op, let value):
            .object(["field": .string(field), "op": .string(op.rawValue), "value": value])
        }
    }

    /// The deepest nesting and the most conditions a view may have.
    public static let maxDepth = 8
    public static let maxConditions = 200

    /// Reads the JSON form, reporting where it is malformed.
    public static func parse(_ json: JSONValue, path: String = "criteria") -> Result<Criteria, HeraldError> {
        var count = 0
        return parse(json, path: path, depth: 0, count: &count)
    }

    private static func parse(_ json: JSONValue, path: String, depth: Int, count: inout Int) -> Result<Criteria, HeraldError> {
        guard depth <= maxDepth else { return .failure(.invalid(field: path, "nests deeper than \(maxDepth) levels")) }
        guard let object = json.objectValue else {
            return .failure(.invalid(field: path, "must be an object with 'all', 'any', or 'field' and 'op'"))
        }
        for key in ["all", "any"] {
            guard let group = object[key] else { continue }
            guard object.count == 1 else { return .failure(.invalid(field: path, "a group has only '\(key)'")) }
            guard let items = group.arrayValue else { return .failure(.invalid(field: "\(path).\(key)", "must be a list")) }
            var parsed: [Criteria] = []
            for (i, item) in items.enumerated() {
                switch parse(item, path: "\(path).\(key)[\(i)]", depth: depth + 1, count: &count) {
                case .success(let c): parsed.append(c)
                case .failure(let e): return .failure(e)
                }
            }
            return .success(key == "all" ? .all(parsed) : .any(parsed))
        }
        count += 1
        guard count <= maxConditions else { return .failure(.invalid(field: path, "a view has at most \(maxConditions) conditions")) }
        guard let field = object["field"]?.stringValue else { return .failure(.invalid(field: "\(path).field", "is required")) }
        guard let opName = object["op"]?.stringValue else { return .failure(.invalid(field: "\(path).op", "is required")) }
        guard let op = ConditionOperator(rawValue: opName) else {
            return .failure(.invalid(field: "\(path).op", "'\(opName)' is not an operator; use one of \(ConditionOperator.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let unknown = Set(object.keys).subtracting(["field", "op", "value"])
        guard unknown.isEmpty else { return .failure(.invalid(field: path, "unknown key '\(unknown.sorted()[0])'")) }
        return .success(.condition(field: field, op: op, value: object["value"] ?? .null))
    }

    /// The API names of the fields the criteria use.
    public var fieldNames: Set<String> {
        switch self {
        case .all(let items), .any(let items): items.reduce(into: Set()) { $0.formUnion($1.fieldNames) }
        case .condition(let field, _, _): [field]
        }
    }

    /// Checks the criteria against `module`'s fields and types, giving typed conditions.
    public func resolve(in module: Module, path: String = "criteria") -> Result<ResolvedCriteria, HeraldError> {
        var problems = ProblemList()
        let resolved = resolve(in: module, path: path, problems: &problems)
        if !problems.isEmpty { return .failure(.invalid(problems.problems)) }
        return .success(resolved)
    }

    private func resolve(in module: Module, path: String, problems: inout ProblemList) -> ResolvedCriteria {
        switch self {
        case .all(let items):
            return .all(items.enumerated().map { $1.resolve(in: module, path: "\(path).all[\($0)]", problems: &problems) })
        case .any(let items):
            return .any(items.enumerated().map { $1.resolve(in: module, path: "\(path).any[\($0)]", problems: &problems) })
        case .condition(let name, let op, let value):
            guard let field = module.field(name) else {
                problems.add("\(path).field", "no field '\(name)' in module \(module.pluralLabel)")
                return .all([])
            }
            guard op.applies(to: field.type) else {
                problems.add("\(path).op", "'\(op.rawValue)' does not apply to \(field.type.label.lowercased()) field '\(name)'")
                return .all([])
            }
            func one(_ v: JSONValue, _ at: String) -> FieldValue? {
                // A date condition on a date-time field compares whole days.
                var target = field
                if field.type == .datetime, case .string(let s) = v, LocalDate(iso: s) != nil { target.type = .date }
                switch FieldValueParser.parse(.json(v), for: target) {
                case .success(let fv?): return fv
                case .success(nil): problems.add(at, "needs a value"); return nil
                case .failure(let p): problems.add(at, p.reason); return nil
                }
            }
            let at = "\(path).value"
            switch op {
            case .isEmpty, .isNotEmpty:
                return .condition(ResolvedCondition(field: field, op: op, values: []))
            case .withinLastDays, .withinNextDays:
                guard case .number(let d) = value, d.rounded() == d, d >= 0, d <= 36_500 else {
                    problems.add(at, "must be a whole number of days from 0 to 36500")
                    return .all([])
                }
                return .condition(ResolvedCondition(field: field, op: op, values: [], days: Int(d)))
            case .between:
                guard let items = value.arrayValue, items.count == 2 else {
                    problems.add(at, "must be a list of two values [from, to]")
                    return .all([])
                }
                let values = items.enumerated().compactMap { one($1, "\(at)[\($0)]") }
                return .condition(ResolvedCondition(field: field, op: op, values: values))
            case .inList:
                guard let items = value.arrayValue, !items.isEmpty, items.count <= 1000 else {
                    problems.add(at, "must be a list of 1 to 1000 values")
                    return .all([])
                }
                let values = items.enumerated().compactMap { one($1, "\(at)[\($0)]") }
                return .condition(ResolvedCondition(field: field, op: op, values: values))
            case .contains, .notContains, .startsWith:
                guard let s = value.stringValue, !s.isEmpty else {
                    problems.add(at, "must be some text")
                    return .all([])
                }
                guard s.count <= 255 else { problems.add(at, "must be at most 255 characters"); return .all([]) }
                return .condition(ResolvedCondition(field: field, op: op, values: [.text(s)]))
            default:
                guard let v = one(value, at) else { return .all([]) }
                return .condition(ResolvedCondition(field: field, op: op, values: [v]))
            }
        }
    }

    /// The criteria in words: `Country is DE and Lead Source is any of Partner, Seminar`.
    public func summary(in module: Module) -> String {
        switch self {
        case .all(let items): items.isEmpty ? "all records" : items.map { $0.nestedSummary(in: module) }.joined(separator: " and ")
        case .any(let items): items.isEmpty ? "no records" : items.map { $0.nestedSummary(in: module) }.joined(separator: " or ")
        case .condition(let name, let op, let value):
            [module.field(name)?.label ?? name, op.label, Criteria.words(value)].filter { !$0.isEmpty }.joined(separator: " ")
        }
    }

    private func nestedSummary(in module: Module) -> String {
        if case .condition = self { return summary(in: module) }
        return "(" + summary(in: module) + ")"
    }

    private static func words(_ value: JSONValue) -> String {
        switch value {
        case .null: ""
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .number(let d): FieldValue.format(number: d)
        case .array(let a): a.map(words).joined(separator: ", ")
        case .object: "…"
        }
    }
}

/// A condition checked against its field, with values of the field's type.
public struct ResolvedCondition: Sendable, Hashable {
    public var field: Field
    public var op: ConditionOperator
    public var values: [FieldValue]
    /// For `within_last_days` and `within_next_days`.
    public var days: Int = 0
}

/// Criteria whose fields exist and whose values have the right types: what storage compiles.
public indirect enum ResolvedCriteria: Sendable, Hashable {
    case all([ResolvedCriteria])
    case any([ResolvedCriteria])
    case condition(ResolvedCondition)
}
