import Foundation
import HeraldCore
import SQLKit

/// Modules and their fields, and the tables that hold their records.
///
/// Each module's records live in a table of their own (`rec_<module>`) with a column per
/// field (`f_<field>`), so that views compile to plain indexed SQL over real columns.
public struct ModuleStore: Sendable {
    let database: any HeraldDatabase

    /// Every module, built-in first, each with its fields in display order.
    public func all() async throws -> [Module] {
        try await database.read { try await ModuleStore.load(from: $0) }
    }

    /// The module with API name `apiName`, or a not-found error that names it.
    public func named(_ apiName: String) async throws -> Module {
        try ModuleStore.find(apiName, in: try await all())
    }

    static func find(_ apiName: String, in modules: [Module]) throws -> Module {
        guard let module = modules.first(where: { $0.apiName == apiName }) else {
            throw HeraldError.notFound("no module '\(apiName)'")
        }
        return module
    }

    static func find(field name: String, in module: Module) throws -> Field {
        guard let field = module.field(name) else {
            throw HeraldError.notFound("no field '\(name)' in module \(module.pluralLabel)")
        }
        return field
    }

    static func load(from db: any SQLDatabase) async throws -> [Module] {
        let fieldRows = try await db.raw("""
            SELECT id, module_id, api_name, label, type, is_required, is_builtin, is_system, picklist_values,
                   lookup_module, position FROM fields ORDER BY module_id, position, id
            """).all()
        var fieldsByModule: [Int64: [Field]] = [:]
        for row in fieldRows {
            let values = try JSONDecoder().decode([String].self, from: Data(try row.decode(column: "picklist_values", as: String.self).utf8))
            let field = Field(
                id: try row.decode(column: "id", as: Int64.self),
                apiName: try row.decode(column: "api_name", as: String.self),
                label: try row.decode(column: "label", as: String.self),
                type: FieldType(rawValue: try row.decode(column: "type", as: String.self)) ?? .text,
                isRequired: try row.decode(column: "is_required", as: Bool.self),
                isBuiltin: try row.decode(column: "is_builtin", as: Bool.self),
                isSystem: try row.decode(column: "is_system", as: Bool.self),
                picklistValues: values,
                lookupModule: try row.decode(column: "lookup_module", as: String?.self),
                position: try row.decode(column: "position", as: Int.self))
            fieldsByModule[try row.decode(column: "module_id", as: Int64.self), default: []].append(field)
        }
        return try await db.raw("SELECT id, api_name, singular_label, plural_label, is_builtin FROM modules ORDER BY id").all().map { row in
            let id = try row.decode(column: "id", as: Int64.self)
            return Module(
                id: id,
                apiName: try row.decode(column: "api_name", as: String.self),
                singularLabel: try row.decode(column: "singular_label", as: String.self),
                pluralLabel: try row.decode(column: "plural_label", as: String.self),
                isBuiltin: try row.decode(column: "is_builtin", as: Bool.self),
                fields: fieldsByModule[id] ?? [])
        }
    }

    /// Creates a custom module with its fields. With `hasPeople`, it gets an email field and
    /// an `Email Opt Out` flag, so mass email can reach it.
    public func create(apiName: String?, singularLabel: String, pluralLabel: String, hasPeople: Bool,
                       fields: [Field]) async throws -> Module {
        let kind = database.kind
        return try await database.transaction { db in
            let existing = try await ModuleStore.load(from: db)
            let name = apiName ?? APIName.from(label: pluralLabel)
            var all = (hasPeople ? BuiltinFields.people(startingAt: 0) : []) + fields.map {
                var f = $0
                f.isBuiltin = false
                f.isSystem = false
                f.label = f.label.trimmingCharacters(in: .whitespaces)
                return f
            }
            all += BuiltinFields.common(startingAt: 0)
            var module = Module(apiName: name, singularLabel: singularLabel.trimmingCharacters(in: .whitespaces),
                                pluralLabel: pluralLabel.trimmingCharacters(in: .whitespaces), fields: all)
            module.fields = module.fields.enumerated().map { i, f in var f = f; f.position = i; return f }
            try ProblemList.from(ModuleRules.problems(newModule: module, modules: existing)).check()
            return try await ModuleStore.insert(module, in: db, kind: kind)
        }
    }

    /// Writes a checked module: its row, its fields and its table with their indexes.
    static func insert(_ module: Module, in db: any SQLDatabase, kind: DatabaseKind) async throws -> Module {
        let now = WallClock.epochSeconds()
        let row = try await db.raw("""
            INSERT INTO modules (api_name, singular_label, plural_label, is_builtin, created_at)
            VALUES (\(bind: module.apiName), \(bind: module.singularLabel), \(bind: module.pluralLabel),
                    \(bind: module.isBuiltin), \(bind: now)) RETURNING id
            """).first()
        var stored = module
        stored.id = try row!.decode(column: "id", as: Int64.self)
        var columns: [SQLQueryString] = [SchemaSQL.idColumn(kind)]
        for (i, field) in module.fields.enumerated() {
            stored.fields[i] = try await insertField(field, moduleID: stored.id, in: db)
            columns.append("\(ident: field.column) \(unsafeRaw: SchemaSQL.columnType(field.type))")
        }
        try await db.raw("CREATE TABLE \(ident: module.table) (\(columns.joined(separator: ", ")))").run()
        for field in module.fields where field.isBuiltin {
            try await createIndex(for: field, in: module, db: db)
        }
        return stored
    }

    static func insertField(_ field: Field, moduleID: Int64, in db: any SQLDatabase) async throws -> Field {
        let values = String(decoding: try JSONEncoder().encode(field.picklistValues), as: UTF8.self)
        let row = try await db.raw("""
            INSERT INTO fields (module_id, api_name, label, type, is_required, is_builtin, is_system, picklist_values,
                                lookup_module, position)
            VALUES (\(bind: moduleID), \(bind: field.apiName), \(bind: field.label), \(bind: field.type.rawValue),
                    \(bind: field.isRequired), \(bind: field.isBuiltin), \(bind: field.isSystem), \(bind: values),
                    \(bind: field.lookupModule), \(bind: field.position)) RETURNING id
            """).first()
        var stored = field
        stored.id = try row!.decode(column: "id", as: Int64.self)
        return stored
    }

    /// Indexes the columns that lists sort by and that views and mass email filter on most.
    static func createIndex(for field: Field, in module: Module, db: any SQLDatabase) async throws {
        let name = "ix_\(module.apiName)_\(field.apiName)"
        switch field.type {
        case .email:
            try await db.raw("CREATE INDEX \(ident: name) ON \(ident: module.table) (lower(\(ident: field.column)))").run()
        case .user, .lookup, .datetime, .date, .picklist, .timeZone:
            try await db.raw("CREATE INDEX \(ident: name) ON \(ident: module.table) (\(ident: field.column))").run()
        default:
            break
        }
    }

    /// Adds a custom field to a module (built-in modules too).
    public func addField(_ field: Field, to moduleName: String) async throws -> Field {
        try await database.transaction { db in
            let modules = try await ModuleStore.load(from: db)
            let module = try ModuleStore.find(moduleName, in: modules)
            var field = field
            field.isBuiltin = false
            field.isSystem = false
            field.label = field.label.trimmingCharacters(in: .whitespaces)
            field.position = (module.fields.map(\.position).max() ?? 0) + 1
            try ProblemList.from(ModuleRules.problems(newField: field, in: module, modules: modules)).check()
            let stored = try await ModuleStore.insertField(field, moduleID: module.id, in: db)
            try await db.raw("""
                ALTER TABLE \(ident: module.table) ADD COLUMN \(ident: field.column) \(unsafeRaw: SchemaSQL.columnType(field.type))
                """).run()
            return stored
        }
    }

    /// Changes a field's label, whether it is required, and a picklist's values. The API name
    /// and type never change: views, templates and integrations rely on them.
    public func updateField(_ fieldName: String, in moduleName: String, label: String?, isRequired: Bool?,
                            picklistValues: [String]?) async throws -> Field {
        try await database.transaction { db in
            let modules = try await ModuleStore.load(from: db)
            let module = try ModuleStore.find(moduleName, in: modules)
            var field = try ModuleStore.find(field: fieldName, in: module)
            var problems = ProblemList()
            if let label {
                let trimmed = label.trimmingCharacters(in: .whitespaces)
                if let r = ModuleRules.labelProblem(trimmed) { problems.add("label", r) }
                if module.fields.contains(where: { $0.apiName != fieldName && $0.label.caseInsensitiveCompare(trimmed) == .orderedSame }) {
                    problems.add("label", "module \(module.pluralLabel) already has a field labelled '\(trimmed)'")
                }
                field.label = trimmed
            }
            if let isRequired {
                if field.isSystem { problems.add("is_required", "system fields are set by Herald") }
                field.isRequired = isRequired
            }
            if let picklistValues {
                field.picklistValues = picklistValues.map { $0.trimmingCharacters(in: .whitespaces) }
                problems.add(contentsOf: ModuleRules.picklistProblems(field, path: "picklist_values"))
            }
            try problems.check()
            let values = String(decoding: try JSONEncoder().encode(field.picklistValues), as: UTF8.self)
            try await db.raw("""
                UPDATE fields SET label = \(bind: field.label), is_required = \(bind: field.isRequired),
                    picklist_values = \(bind: values) WHERE id = \(bind: field.id)
                """).run()
            return field
        }
    }

    /// Deletes a custom field and its data. Refused for built-in fields, and while a view
    /// uses the field (the error names each one).
    public func deleteField(_ fieldName: String, from moduleName: String) async throws {
        try await database.transaction { db in
            let modules = try await ModuleStore.load(from: db)
            let module = try ModuleStore.find(moduleName, in: modules)
            let field = try ModuleStore.find(field: fieldName, in: module)
            if field.isBuiltin { throw HeraldError.conflict("'\(field.label)' is a built-in field and cannot be deleted") }
            let users = try await FieldUsage.users(of: field, in: module, among: modules, db: db)
            if !users.isEmpty {
                throw HeraldError.conflict(
                    "field '\(field.apiName)' is used by \(users.joined(separator: ", ")); change those first",
                    problems: users.map { Problem(field: fieldName, reason: "used by \($0)") })
            }
            try await db.raw("ALTER TABLE \(ident: module.table) DROP COLUMN \(ident: field.column)").run()
            try await db.raw("DELETE FROM fields WHERE id = \(bind: field.id)").run()
        }
    }

    /// Renames a module's labels.
    public func rename(_ moduleName: String, singularLabel: String, pluralLabel: String) async throws -> Module {
        try await database.transaction { db in
            let modules = try await ModuleStore.load(from: db)
            var module = try ModuleStore.find(moduleName, in: modules)
            var problems = ProblemList()
            if let r = ModuleRules.labelProblem(singularLabel) { problems.add("singular_label", r) }
            if let r = ModuleRules.labelProblem(pluralLabel) { problems.add("plural_label", r) }
            if modules.contains(where: { $0.apiName != moduleName && $0.pluralLabel.caseInsensitiveCompare(pluralLabel) == .orderedSame }) {
                problems.add("plural_label", "a module named '\(pluralLabel)' already exists")
            }
            try problems.check()
            module.singularLabel = singularLabel.trimmingCharacters(in: .whitespaces)
            module.pluralLabel = pluralLabel.trimmingCharacters(in: .whitespaces)
            try await db.raw("""
                UPDATE modules SET singular_label = \(bind: module.singularLabel), plural_label = \(bind: module.pluralLabel)
                WHERE id = \(bind: module.id)
                """).run()
            return module
        }
    }

    /// Deletes a custom module with all its records, views and lists. Refused for built-in
    /// modules and while a lookup field in another module points to it.
    public func delete(_ moduleName: String) async throws {
        try await database.transaction { db in
            let modules = try await ModuleStore.load(from: db)
            let module = try ModuleStore.find(moduleName, in: modules)
            if module.isBuiltin { throw HeraldError.conflict("\(module.pluralLabel) is a built-in module and cannot be deleted") }
            let pointing = modules.flatMap { m in
                m.fields.filter { $0.type == .lookup && $0.lookupModule == moduleName && m.apiName != moduleName }
                    .map { "field '\($0.apiName)' of \(m.pluralLabel)" }
            }
            if !pointing.isEmpty {
                throw HeraldError.conflict("module \(module.pluralLabel) is used by \(pointing.joined(separator: ", "))")
            }
            try await db.raw("DELETE FROM static_list_members WHERE list_id IN (SELECT id FROM static_lists WHERE module_id = \(bind: module.id))").run()
            try await db.raw("DELETE FROM static_lists WHERE module_id = \(bind: module.id)").run()
            try await db.raw("DELETE FROM views WHERE module_id = \(bind: module.id)").run()
            try await db.raw("DELETE FROM fields WHERE module_id = \(bind: module.id)").run()
            try await db.raw("DELETE FROM modules WHERE id = \(bind: module.id)").run()
            try await db.raw("DROP TABLE \(ident: module.table)").run()
        }
    }
}

/// What refers to a field, so that deleting it can be refused with names.
enum FieldUsage {
    /// - Parameter modules: every module, for the templates that read `field` through a
    ///   lookup to `module` (a deal's `{{contact.first_name}}`).
    static func users(of field: Field, in module: Module, among modules: [Module], db: any SQLDatabase) async throws -> [String] {
        let views = try await db.raw("SELECT name, criteria FROM views WHERE module_id = \(bind: module.id) ORDER BY name").all()
        var users: [String] = []
        for row in views {
            let criteria = try JSONDecoder().decode(Criteria.self, from: Data(try row.decode(column: "criteria", as: String.self).utf8))
            if criteria.fieldNames.contains(field.apiName) {
                users.append("view '\(try row.decode(column: "name", as: String.self))'")
            }
        }
        // The module's own templates, and those of modules with a lookup to it.
        for owner in modules {
            let lookups = CompiledTemplate.lookups(of: owner, among: modules)
            let through = lookups.filter { $0.value.apiName == module.apiName }.keys
            guard owner.apiName == module.apiName || !through.isEmpty else { continue }
            let templates = try await db.raw("SELECT name, subject, html, text FROM templates WHERE module_id = \(bind: owner.id) ORDER BY name").all()
            for row in templates {
                guard let compiled = try? CompiledTemplate(
                    subject: try row.decode(column: "subject", as: String.self), html: try row.decode(column: "html", as: String.self),
                    text: try row.decode(column: "text", as: String?.self), module: owner, lookups: lookups, extraNames: MailTemplate.engineNames)
                else { continue }
                let uses = (owner.apiName == module.apiName && compiled.fieldNames.contains(field.apiName))
                    || through.contains { compiled.lookupFields[$0]?.contains(field.apiName) == true }
                if uses {
                    users.append("template '\(try row.decode(column: "name", as: String.self))'"
                                 + (owner.apiName == module.apiName ? "" : " of \(owner.pluralLabel)"))
                }
            }
        }
        return users
    }
}

extension ProblemList {
    static func from(_ problems: [Problem]) -> ProblemList {
        var list = ProblemList()
        list.add(contentsOf: problems)
        return list
    }
}
