import Foundation
import HeraldCore
import SQLKit

/// Compiles a view's criteria into an SQL condition with bound parameters, so that the
/// database does the filtering: no record is loaded to decide whether it matches.
struct CriteriaSQL {
    let kind: DatabaseKind
    /// "Now", for relative conditions (`within_last_days`): views resolve when used.
    let now: Date
    /// The organisation's time zone, in which dates begin and end.
    let zone: TimeZone

    func compile(_ criteria: ResolvedCriteria) -> SQLQueryString {
        switch criteria {
        case .all(let items):
            items.isEmpty ? "1=1" : "(" + items.map(compile).joined(separator: " AND ") + ")"
        case .any(let items):
            items.isEmpty ? "1=0" : "(" + items.map(compile).joined(separator: " OR ") + ")"
        case .condition(let c):
            condition(c)
        }
    }

    private func condition(_ c: ResolvedCondition) -> SQLQueryString {
        let col: SQLQueryString = "\(ident: c.field.column)"
        let caseless = c.field.type.isTextual && c.field.type != .picklist && c.field.type != .timeZone
        switch c.op {
        case .isEmpty: return "\(col) IS NULL"
        case .isNotEmpty: return "\(col) IS NOT NULL"
        case .equals: return equals(col, c.values[0], field: c.field, caseless: caseless)
        case .notEquals: return "(\(col) IS NULL OR NOT \(equals(col, c.values[0], field: c.field, caseless: caseless)))"
        case .contains: return like(col, "%" + escapeLike(text(c.values[0])) + "%")
        case .notContains: return "(\(col) IS NULL OR NOT \(like(col, "%" + escapeLike(text(c.values[0])) + "%")))"
        case .startsWith: return like(col, escapeLike(text(c.values[0])) + "%")
        case .greaterThan, .after:
            if case .date(let d) = c.values[0], c.field.type == .datetime {
                return "\(col) >= \(bind: startOf(d.adding(days: 1)))"
            }
            return "\(col) > \(bind(c.values[0]))"
        case .lessThan, .before:
            if case .date(let d) = c.values[0], c.field.type == .datetime {
                return "\(col) < \(bind: startOf(d))"
            }
            return "\(col) < \(bind(c.values[0]))"
        case .between:
            var (low, high) = (c.values[0], c.values[1])
            if c.field.type == .datetime {
                if case .date(let d) = low { low = .datetime(startOf(d)) }
                if case .date(let d) = high { return "(\(col) >= \(bind(low)) AND \(col) < \(bind: startOf(d.adding(days: 1))))" }
            }
            return "(\(col) >= \(bind(low)) AND \(col) <= \(bind(high)))"
        case .inList:
            if caseless {
                let lowered = c.values.map { FieldValue.text(text($0).lowercased()) }
                return "lower(\(col)) IN (\(lowered.map(bind).joined(separator: ", ")))"
            }
            return "\(col) IN (\(c.values.map(bind).joined(separator: ", ")))"
        case .withinLastDays, .withinNextDays:
            let today = LocalDate(now, in: zone)
            let past = c.op == .withinLastDays
            let first = past ? today.adding(days: -c.days) : today
            let last = past ? today : today.adding(days: c.days)
            if c.field.type == .date {
                return "(\(col) >= \(bind: first.description) AND \(col) <= \(bind: last.description))"
            }
            let from = past ? startOf(first) : WallClock.epochSeconds(now)
            let to = past ? WallClock.epochSeconds(now) : startOf(last.adding(days: 1)) - 1
            return "(\(col) >= \(bind: from) AND \(col) <= \(bind: to))"
        }
    }

    private func equals(_ col: SQLQueryString, _ value: FieldValue, field: Field, caseless: Bool) -> SQLQueryString {
        if case .date(let d) = value, field.type == .datetime {
            return "(\(col) >= \(bind: startOf(d)) AND \(col) < \(bind: startOf(d.adding(days: 1))))"
        }
        if caseless {
            // SQLite's NOCASE keeps the comparison on the column itself (usable by an index);
            // PostgreSQL has no such collation, so both sides are lowered.
            switch kind {
            case .sqlite: return "(\(col) = \(bind(value)) COLLATE NOCASE)"
            case .postgres: return "(lower(\(col)) = lower(\(bind(value))))"
            }
        }
        return "(\(col) = \(bind(value)))"
    }

    private func like(_ col: SQLQueryString, _ pattern: String) -> SQLQueryString {
        Self.like(col, pattern, kind: kind)
    }

    /// `col` matches the LIKE `pattern` (with `\` escaping), ignoring case on both databases.
    static func like(_ col: SQLQueryString, _ pattern: String, kind: DatabaseKind) -> SQLQueryString {
        switch kind {
        case .sqlite: "(\(col) LIKE \(bind: pattern) ESCAPE '\\')"
        case .postgres: "(\(col) ILIKE \(bind: pattern) ESCAPE '\\')"
        }
    }

    private func startOf(_ date: LocalDate) -> Int64 { WallClock.epochSeconds(date.startOfDay(in: zone)) }

    private func text(_ value: FieldValue) -> String { value.text }

    private func escapeLike(_ s: String) -> String { Self.escapeLike(s) }

    /// `s` with LIKE's wildcards escaped, to be matched literally.
    static func escapeLike(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    private func bind(_ value: FieldValue) -> SQLQueryString { "\(bind: value.sqlValue)" }

    /// A case-insensitive search over the module's text fields.
    func search(_ text: String, in module: Module) -> SQLQueryString {
        let pattern = "%" + escapeLike(text) + "%"
        let fields = module.fields.filter { $0.type.isTextual }
        guard !fields.isEmpty else { return "1=0" }
        return "(" + fields.map { like("\(ident: $0.column)", pattern) }.joined(separator: " OR ") + ")"
    }
}

extension FieldValue {
    /// The value as the database stores it.
    var sqlValue: any Encodable & Sendable {
        switch self {
        case .text(let s): s
        case .number(let d): d
        case .currency(let c): c
        case .bool(let b): b
        case .date(let d): d.description
        case .datetime(let s): s
        case .reference(let id): id
        }
    }

    /// Reads a field's value from a row; nil when the column is NULL.
    static func decode(_ field: Field, from row: CellRow, at column: Int) throws -> FieldValue? {
        // NULL is nil here, in the same reading of the cell as its value.
        func cell<T: CellValue>(_ type: T.Type) throws -> T? { try row.decode(column) }
        switch field.type {
        case .text, .longText, .email, .phone, .picklist, .timeZone: return try cell(String.self).map(FieldValue.text)
        case .number: return try cell(Double.self).map(FieldValue.number)
        case .currency: return try cell(Int64.self).map(FieldValue.currency)
        case .boolean: return try cell(Bool.self).map(FieldValue.bool)
        case .date: return try cell(String.self).flatMap(LocalDate.init(iso:)).map(FieldValue.date)
        case .datetime: return try cell(Int64.self).map(FieldValue.datetime)
        case .lookup, .user: return try cell(Int64.self).map(FieldValue.reference)
        }
    }
}
