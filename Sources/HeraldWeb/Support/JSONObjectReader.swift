import Foundation
import HeraldCore

/// Reads a JSON object field by field, collecting every problem (wrong types, missing and
/// unknown keys) so that the API answers all of them at once, each with its path.
struct JSONObjectReader {
    let object: [String: JSONValue]
    let path: String
    private(set) var problems = ProblemList()
    private var used = Set<String>()

    init(_ value: JSONValue, path: String = "") throws {
        guard let object = value.objectValue else {
            throw HeraldError.invalid(field: path, "must be a JSON object, not \(value.typeName)")
        }
        self.object = object
        self.path = path
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func has(_ key: String) -> Bool {
        used.insert(key)
        return object[key] != nil
    }

    mutating func raw(_ key: String) -> JSONValue? {
        used.insert(key)
        return object[key]
    }

    mutating func string(_ key: String, required: Bool = false, maxLength: Int = 10_000) -> String? {
        used.insert(key)
        switch object[key] {
        case nil, .null?:
            if required { problems.add(name(key), "is required") }
            return nil
        case .string(let s)?:
            if s.count > maxLength { problems.add(name(key), "must be at most \(maxLength) characters") }
            // A NUL would cut a header short (a sender "a\0b" sends as "a") and PostgreSQL
            // refuses it in text: no name or value of Herald's holds one.
            if s.utf8.contains(0) { problems.add(name(key), "must not contain the NUL character") }
            return s
        case let other?:
            problems.add(name(key), "must be a string, not \(other.typeName)")
            return nil
        }
    }

    mutating func bool(_ key: String) -> Bool? {
        used.insert(key)
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let other?:
            problems.add(name(key), "must be true or false, not \(other.typeName)")
            return nil
        }
    }

    mutating func int(_ key: String, required: Bool = false, range: ClosedRange<Int64> = 1...Int64.max) -> Int64? {
        used.insert(key)
        switch object[key] {
        case nil, .null?:
            if required { problems.add(name(key), "is required") }
            return nil
        case .number(let d)? where d.rounded() == d && d >= Double(range.lowerBound) && d <= Double(min(range.upperBound, 1 << 53)):
            return Int64(d)
        case let other?:
            let bounds = range.upperBound < 1 << 53 ? "from \(range.lowerBound) to \(range.upperBound)" : "from \(range.lowerBound)"
            let given: String = if case .number(let d) = other { FieldValue.format(number: d) } else { other.typeName }
            problems.add(name(key), "must be a whole number \(bounds), not \(given)")
            return nil
        }
    }

    mutating func strings(_ key: String, maxCount: Int = 1000) -> [String]? {
        used.insert(key)
        switch object[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            if items.count > maxCount { problems.add(name(key), "has more than \(maxCount) items") }
            var out: [String] = []
            for (i, item) in items.enumerated() {
                if case .string(let s) = item { out.append(s) } else { problems.add("\(name(key))[\(i)]", "must be a string") }
            }
            return out
        case let other?:
            problems.add(name(key), "must be a list, not \(other.typeName)")
            return nil
        }
    }

    mutating func ids(_ key: String, required: Bool = false, maxCount: Int = 100_000) -> [Int64]? {
        used.insert(key)
        switch object[key] {
        case nil, .null?:
            if required { problems.add(name(key), "is required") }
            return nil
        case .array(let items)?:
            if items.count > maxCount { problems.add(name(key), "has more than \(maxCount) items") }
            var out: [Int64] = []
            for (i, item) in items.enumerated() {
                if case .number(let d) = item, d.rounded() == d, d > 0, d < 9e15 { out.append(Int64(d)) }
                else { problems.add("\(name(key))[\(i)]", "must be a record id") }
            }
            return out
        case let other?:
            problems.add(name(key), "must be a list of ids, not \(other.typeName)")
            return nil
        }
    }

    mutating func object(_ key: String) -> [String: JSONValue]? {
        used.insert(key)
        switch object[key] {
        case nil, .null?: return nil
        case .object(let o)?: return o
        case let other?:
            problems.add(name(key), "must be an object, not \(other.typeName)")
            return nil
        }
    }

    /// One of an enumeration's raw values, or the problem listing them.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, required: Bool = false) -> T? where T.RawValue == String {
        guard let text = string(key, required: required) else { return nil }
        guard let value = T(rawValue: text) else {
            problems.add(name(key), "'\(text)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// A calendar date, `YYYY-MM-DD`.
    mutating func date(_ key: String, required: Bool = false) -> LocalDate? {
        guard let text = string(key, required: required) else { return nil }
        guard let date = LocalDate(iso: text) else {
            problems.add(name(key), "'\(text)' is not a date (YYYY-MM-DD)")
            return nil
        }
        return date
    }

    /// An instant in ISO 8601 with a zone, as epoch seconds.
    mutating func dateTime(_ key: String, required: Bool = false) -> Int64? {
        guard let text = string(key, required: required) else { return nil }
        guard let date = ISODateTime.parse(text) else {
            problems.add(name(key), "'\(text)' is not a date and time (ISO 8601 with a zone, e.g. 2026-11-27T09:30:00Z)")
            return nil
        }
        return Int64(date.timeIntervalSince1970.rounded(.down))
    }

    mutating func add(_ field: String, _ reason: String) { problems.add(name(field), reason) }

    /// A reader for the object under `key` (nil, with the problem noted, when it is not one);
    /// hand it back to ``absorb(_:)`` so that one answer lists every problem.
    mutating func nested(_ key: String) -> JSONObjectReader? {
        guard let object = object(key) else { return nil }
        return try? JSONObjectReader(.object(object), path: name(key))
    }

    /// Takes a nested reader's problems, its unknown keys included.
    mutating func absorb(_ nested: JSONObjectReader) { problems.add(contentsOf: nested.allProblems) }

    /// What was wrong so far, and the keys that were never asked for.
    var allProblems: [Problem] {
        var all = problems
        for key in object.keys.sorted() where !used.contains(key) {
            all.add(name(key), "unknown field")
        }
        return all.problems
    }

    /// Reports keys that were never asked for, then throws if anything was wrong.
    func finish() throws {
        var all = ProblemList()
        all.add(contentsOf: allProblems)
        try all.check()
    }
}
