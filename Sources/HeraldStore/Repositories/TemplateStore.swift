import Foundation
import HeraldCore
import SQLKit

/// Mail templates of every module. A template is compiled against its module when it is
/// saved, so a mistake is a 422 at the editor, never a surprise when sending.
///
/// ```swift
/// let template = try await store.templates.create(in: contacts, name: "Welcome", subject: "Hi {{first_name}}",
///                                                 html: "<p>Hello</p>", text: nil, by: user.id)
/// ```
public struct TemplateStore: Sendable {
    let database: any HeraldDatabase
    let modules: ModuleStore
    public static let maxNameLength = 100
    public static let maxSubjectLength = 500
    /// HTML or text bodies beyond this are refused: no mass email needs them, and every
    /// recipient's copy would be as large.
    public static let maxBodyLength = 500_000

    private static let columns = "t.id, m.api_name, t.name, t.subject, t.html, t.text, t.created_by, t.created_at, t.modified_at"

    public func all(in module: Module) async throws -> [MailTemplate] {
        try await database.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: TemplateStore.columns) FROM templates t JOIN modules m ON m.id = t.module_id
                WHERE t.module_id = \(bind: module.id) ORDER BY t.name
                """).all().map(TemplateStore.template(from:))
        }
    }

    public func find(_ id: Int64) async throws -> MailTemplate {
        let row = try await database.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: TemplateStore.columns) FROM templates t JOIN modules m ON m.id = t.module_id WHERE t.id = \(bind: id)
                """).first()
        }
        guard let row else { throw HeraldError.notFound("no template \(id)") }
        return try TemplateStore.template(from: row)
    }

    /// Saves a new template after compiling it against `module`.
    public func create(in module: Module, name: String, subject: String, html: String, text: String?,
                       by user: Int64?) async throws -> MailTemplate {
        let (name, text) = try TemplateStore.check(name: name, subject: subject, html: html, text: text, module: module,
                                                   lookups: CompiledTemplate.lookups(of: module, among: try await modules.all()))
        let now = WallClock.epochSeconds()
        let id = try await database.transaction { db in
            try await TemplateStore.refuseClash(name, in: module, except: nil, db: db)
            let row = try await db.raw("""
                INSERT INTO templates (module_id, name, subject, html, text, created_by, created_at, modified_at)
                VALUES (\(bind: module.id), \(bind: name), \(bind: subject), \(bind: html), \(bind: text), \(bind: user),
                        \(bind: now), \(bind: now)) RETURNING id
                """).first()
            return try row!.decode(column: "id", as: Int64.self)
        }
        return MailTemplate(id: id, module: module.apiName, name: name, subject: subject, html: html, text: text,
                            createdBy: user, createdAt: now, modifiedAt: now)
    }

    /// Replaces a template's name and content; it stays in its module. `scope` is the editor's
    /// (see ``SharedItems``).
    public func update(_ id: Int64, name: String, subject: String, html: String, text: String?, scope: AccessScope = .all) async throws -> MailTemplate {
        let module = try await modules.named(try await find(id).module)
        let (name, text) = try TemplateStore.check(name: name, subject: subject, html: html, text: text, module: module,
                                                   lookups: CompiledTemplate.lookups(of: module, among: try await modules.all()))
        let now = WallClock.epochSeconds()
        try await database.transaction { db in
            try await SharedItems.checkMayChange("templates", id: id, what: "template", scope: scope, db: db)
            try await SharedItems.refuseIfSending(template: id, db: db)
            try await TemplateStore.refuseClash(name, in: module, except: id, db: db)
            let updated = try await db.raw("""
                UPDATE templates SET name = \(bind: name), subject = \(bind: subject), html = \(bind: html), text = \(bind: text),
                    modified_at = \(bind: now) WHERE id = \(bind: id) RETURNING id
                """).first()
            if updated == nil { throw HeraldError.notFound("no template \(id)") }
        }
        return try await find(id)
    }

    /// Deletes a template that no mass email uses.
    public func delete(_ id: Int64, scope: AccessScope = .all) async throws {
        try await database.transaction { db in
            try await SharedItems.checkMayChange("templates", id: id, what: "template", scope: scope, db: db)
            if let used = try await SharedItems.massEmail(usingTemplate: id, db: db) {
                throw HeraldError.conflict(used.inFollowUp ? "a follow-up of the \(used.status) mass email '\(used.name)' uses this template; it cannot be deleted"
                                                           : "the \(used.status) mass email '\(used.name)' uses this template; it cannot be deleted",
                                           problems: [Problem(field: "id", reason: used.inFollowUp ? "in use by a follow-up" : "in use by a mass email")])
            }
            let deleted = try await db.raw("DELETE FROM templates WHERE id = \(bind: id) RETURNING id").first()
            if deleted == nil { throw HeraldError.notFound("no template \(id)") }
        }
    }

    /// The trimmed name and the text part (nil when blank), or every problem at once.
    static func check(name: String, subject: String, html: String, text: String?,
                      module: Module, lookups: [String: Module] = [:]) throws -> (String, String?) {
        var problems = ProblemList()
        let trimmed = name.trimmedWhitespace
        if trimmed.isEmpty { problems.add("name", "is required") }
        if trimmed.count > maxNameLength { problems.add("name", "must be at most \(maxNameLength) characters") }
        if subject.trimmedWhitespace.isEmpty { problems.add("subject", "is required") }
        if subject.count > maxSubjectLength { problems.add("subject", "must be at most \(maxSubjectLength) characters") }
        if html.trimmedWhitespace.isEmpty { problems.add("html", "is required") }
        if html.utf8.count > maxBodyLength { problems.add("html", "must be at most \(maxBodyLength) bytes") }
        let text = text.flatMap { $0.trimmedWhitespace.isEmpty ? nil : $0 }
        if let text, text.utf8.count > maxBodyLength { problems.add("text", "must be at most \(maxBodyLength) bytes") }
        if problems.isEmpty {
            do {
                _ = try CompiledTemplate(subject: subject, html: html, text: text, module: module, lookups: lookups,
                                         extraNames: MailTemplate.engineNames)
            } catch let error as HeraldError {
                problems.add(contentsOf: error.problems)
            }
        }
        try problems.check()
        return (trimmed, text)
    }

    static func refuseClash(_ name: String, in module: Module, except id: Int64?, db: any SQLDatabase) async throws {
        let clash = try await db.raw("""
            SELECT id FROM templates WHERE module_id = \(bind: module.id) AND lower(name) = lower(\(bind: name))
            AND id <> \(bind: id ?? 0)
            """).first()
        if clash != nil {
            throw HeraldError.conflict("a template named '\(name)' already exists in \(module.pluralLabel)",
                                       problems: [Problem(field: "name", reason: "already exists")])
        }
    }

    static func template(from row: any SQLRow) throws -> MailTemplate {
        MailTemplate(
            id: try row.decode(column: "id", as: Int64.self),
            module: try row.decode(column: "api_name", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            subject: try row.decode(column: "subject", as: String.self),
            html: try row.decode(column: "html", as: String.self),
            text: try row.decode(column: "text", as: String?.self),
            createdBy: try row.decode(column: "created_by", as: Int64?.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            modifiedAt: try row.decode(column: "modified_at", as: Int64.self))
    }
}
