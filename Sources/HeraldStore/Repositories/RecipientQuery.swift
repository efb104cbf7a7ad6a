import Foundation
import HeraldCore
import SQLKit

/// Which records of a module a mass email goes to.
public enum RecipientSelection: Sendable {
    case criteria(ResolvedCriteria)
    case list(Int64)
    case records([Int64])
    /// Every record of the module (in the scope asked with).
    case all
}

/// A record as the recipient resolver sees it: its address, if any, and its opt-out flag;
/// when asked for, its time-zone and country fields' values.
public struct RecipientRow: Sendable, Hashable {
    public var recordID: Int64
    public var email: String?
    public var optedOut: Bool
    public var timeZone: String?
    public var country: String?
}

extension RecordStore {
    /// The next `limit` selected records after id `after`, with their address (their own, or
    /// that of the record a lookup names: a deal's contact), in id order (keyset pagination).
    public func recipients(in module: Module, source: RecipientAddressSource, selection: RecipientSelection,
                           scope: AccessScope, after: Int64, limit: Int, zoneFields: RecipientZoneFields? = nil) async throws -> [RecipientRow] {
        let table = module.table
        let (email, optOut): (SQLQueryString, SQLQueryString)
        switch source {
        case .own(let emailField, let optOutField):
            email = "\(ident: table).\(ident: emailField.column)"
            optOut = optOutField.map { "\(ident: table).\(ident: $0.column)" } ?? "NULL"
        case .lookup(let field, let target, let emailField, let optOutField):
            email = "(SELECT c.\(ident: emailField.column) FROM \(ident: target.table) c WHERE c.id = \(ident: table).\(ident: field.column))"
            optOut = optOutField.map { "(SELECT c.\(ident: $0.column) FROM \(ident: target.table) c WHERE c.id = \(ident: table).\(ident: field.column))" } ?? "NULL"
        }
        let filter = try await selectionSQL(selection, table: table)
        let (zone, country) = Self.zoneSQL(zoneFields, table: table)
        return try await database.read { db in
            try await db.rows("""
                SELECT \(ident: table).id AS id, \(email) AS email, \(optOut) AS opt_out, \(zone) AS tz, \(country) AS country
                FROM \(ident: table)
                WHERE \(ident: table).id > \(bind: after) AND \(RecordStore.scopeSQL(scope)) AND \(filter)
                ORDER BY \(ident: table).id LIMIT \(literal: limit)
                """) { row in
                RecipientRow(recordID: try row.decode(0), email: try row.decode(1), optedOut: try row.flag(2),
                             timeZone: try row.decode(3), country: try row.decode(4))
            }
        }
    }

    /// `records` with the values their lookups' records hold that a template reads (`uses`,
    /// ``CompiledTemplate/lookupFields``), under `lookup.field` (a deal's `contact.first_name`):
    /// one read a lookup for all of them.
    public func withLookups(_ records: [Record], uses: [String: Set<String>], module: Module, among modules: [Module]) async throws -> [Record] {
        guard !uses.isEmpty, !records.isEmpty else { return records }
        var out = records
        for (lookup, wanted) in uses {
            guard let field = module.field(lookup), let target = modules.first(where: { $0.apiName == field.lookupModule }) else { continue }
            let ids = Set(records.compactMap { record -> Int64? in
                if case .reference(let id)? = record[lookup] { id } else { nil }
            })
            var narrowed = target
            narrowed.fields = target.fields.filter { wanted.contains($0.apiName) }
            let found = Dictionary(try await find(in: narrowed, ids: Array(ids), scope: .all).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for i in out.indices {
                guard case .reference(let id)? = out[i][lookup], let looked = found[id] else { continue }
                for name in wanted { if let value = looked.values[name] { out[i].values["\(lookup).\(name)"] = value } }
            }
        }
        return out
    }

    /// How many records `selection` picks in `scope` now: what a mass email that has not
    /// started will go to, before duplicates, missing or invalid addresses, opt-outs and
    /// suppressions are taken out.
    public func selectedCount(in module: Module, selection: RecipientSelection, scope: AccessScope) async throws -> Int {
        let table = module.table
        let filter = try await selectionSQL(selection, table: table)
        return try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM \(ident: table) WHERE \(RecordStore.scopeSQL(scope)) AND \(filter)")
                .first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// How many selected records have each pair of time-zone and country values: what a mass
    /// email sent in each recipient's time zone will send when, before its recipients are
    /// resolved (duplicates, opt-outs and suppressions are not taken out yet).
    public func recipientZones(in module: Module, selection: RecipientSelection, scope: AccessScope,
                               zoneFields: RecipientZoneFields) async throws -> [(timeZone: String?, country: String?, count: Int)] {
        let table = module.table
        let filter = try await selectionSQL(selection, table: table)
        let (zone, country) = Self.zoneSQL(zoneFields, table: table)
        return try await database.read { db in
            try await db.raw("""
                SELECT \(zone) AS tz, \(country) AS country, COUNT(*) AS n FROM \(ident: table)
                WHERE \(RecordStore.scopeSQL(scope)) AND \(filter) GROUP BY 1, 2 LIMIT 5000
                """).all().map { row in
                (try row.decode(column: "tz", as: String?.self), try row.decode(column: "country", as: String?.self),
                 try row.decode(column: "n", as: Int.self))
            }
        }
    }

    /// The time-zone and country values of a record of `table`: its own columns, or those of
    /// the record its lookup names; NULL where there is no such field.
    static func zoneSQL(_ fields: RecipientZoneFields?, table: String) -> (zone: SQLQueryString, country: SQLQueryString) {
        func value(_ field: Field?) -> SQLQueryString {
            guard let field else { return "NULL" }
            guard let via = fields?.via else { return "\(ident: table).\(ident: field.column)" }
            return "(SELECT z.\(ident: field.column) FROM \(ident: via.target.table) z WHERE z.id = \(ident: table).\(ident: via.field.column))"
        }
        return (value(fields?.zone), value(fields?.country))
    }

    /// The SQL condition that a record of `table` is among `selection`.
    func selectionSQL(_ selection: RecipientSelection, table: String) async throws -> SQLQueryString {
        switch selection {
        case .criteria(let criteria):
            CriteriaSQL(kind: database.kind, now: Date(), zone: try await settings.timeZone()).compile(criteria)
        case .list(let list):
            "\(ident: table).id IN (SELECT record_id FROM static_list_members WHERE list_id = \(bind: list))"
        case .records(let ids):
            ids.isEmpty ? "1=0" : "\(ident: table).id IN (\(binds: ids))"
        case .all:
            "1=1"
        }
    }
}
