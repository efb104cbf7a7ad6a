import HeraldCore
import SQLKit

enum Migrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "core tables") { db, kind in
            let id = SchemaSQL.idColumn(kind)
            let statements: [SQLQueryString] = [
                "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                """
                CREATE TABLE users (\(id), email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
                    password_hash TEXT NOT NULL, time_zone TEXT NOT NULL, is_active BOOLEAN NOT NULL,
                    created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE api_tokens (\(id), user_id BIGINT NOT NULL REFERENCES users(id), name TEXT NOT NULL,
                    prefix TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL,
                    last_used_at BIGINT, revoked_at BIGINT)
                """,
                "CREATE TABLE kv_store (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at BIGINT)",
                """
                CREATE TABLE modules (\(id), api_name TEXT NOT NULL UNIQUE, singular_label TEXT NOT NULL,
                    plural_label TEXT NOT NULL, is_builtin BOOLEAN NOT NULL, created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE fields (\(id), module_id BIGINT NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
                    api_name TEXT NOT NULL, label TEXT NOT NULL, type TEXT NOT NULL, is_required BOOLEAN NOT NULL,
                    is_builtin BOOLEAN NOT NULL, is_system BOOLEAN NOT NULL, picklist_values TEXT NOT NULL,
                    lookup_module TEXT, position BIGINT NOT NULL, UNIQUE (module_id, api_name))
                """,
                """
                CREATE TABLE views (\(id), module_id BIGINT NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
                    name TEXT NOT NULL, criteria TEXT NOT NULL, created_by BIGINT, created_at BIGINT NOT NULL,
                    modified_at BIGINT NOT NULL, UNIQUE (module_id, name))
                """,
                """
                CREATE TABLE static_lists (\(id), module_id BIGINT NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
                    name TEXT NOT NULL, created_by BIGINT, created_at BIGINT NOT NULL, UNIQUE (module_id, name))
                """,
                """
                CREATE TABLE static_list_members (list_id BIGINT NOT NULL REFERENCES static_lists(id) ON DELETE CASCADE,
                    record_id BIGINT NOT NULL, added_at BIGINT NOT NULL, PRIMARY KEY (list_id, record_id))
                """,
            ]
            for statement in statements { try await db.raw(statement).run() }
        },
        Migration(version: 2, name: "built-in modules") { db, kind in
            for module in BuiltinModules.all {
                _ = try await ModuleStore.insert(module, in: db, kind: kind)
            }
        },
        Migration(version: 3, name: "templates and senders") { db, kind in
            let id = SchemaSQL.idColumn(kind)
            let statements: [SQLQueryString] = [
                """
                CREATE TABLE templates (\(id), module_id BIGINT NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
                    name TEXT NOT NULL, subject TEXT NOT NULL, html TEXT NOT NULL, text TEXT, created_by BIGINT,
                    created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL, UNIQUE (module_id, name))
                """,
                // `email` is stored as given and kept unique by its lowercased form, for both databases alike.
                "CREATE TABLE senders (\(id), email TEXT NOT NULL, name TEXT NOT NULL, reply_to TEXT, created_at BIGINT NOT NULL)",
                "CREATE UNIQUE INDEX senders_email ON senders (lower(email))",
            ]
            for statement in statements { try await db.raw(statement).run() }
        },
    ]
}
