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
                """
                CREATE TABLE senders (\(id), email TEXT NOT NULL, name TEXT NOT NULL, reply_to TEXT, created_at BIGINT NOT NULL,
                    rate_per_minute BIGINT, rate_per_hour BIGINT)
                """,
                "CREATE UNIQUE INDEX senders_email ON senders (lower(email))",
            ]
            for statement in statements { try await db.raw(statement).run() }
        },
        Migration(version: 4, name: "mass email") { db, kind in
            let id = SchemaSQL.idColumn(kind)
            let statements: [SQLQueryString] = [
                """
                CREATE TABLE mass_emails (\(id), name TEXT NOT NULL, module_id BIGINT NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
                    owner_id BIGINT NOT NULL REFERENCES users(id), template_id BIGINT NOT NULL REFERENCES templates(id),
                    sender_id BIGINT NOT NULL REFERENCES senders(id),
                    recipients_kind TEXT NOT NULL, recipients_ref BIGINT, record_ids TEXT,
                    status TEXT NOT NULL, status_reason TEXT, scheduled_at BIGINT, time_zone TEXT NOT NULL,
                    started_at BIGINT, finished_at BIGINT, resolved_at BIGINT, resolve_cursor BIGINT NOT NULL DEFAULT 0,
                    resolver TEXT, resolver_lease BIGINT, skipped TEXT NOT NULL DEFAULT '{}',
                    created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL)
                """,
                "CREATE INDEX mass_emails_status ON mass_emails (status, scheduled_at)",
                """
                CREATE TABLE mail_messages (\(id), mass_email_id BIGINT NOT NULL REFERENCES mass_emails(id) ON DELETE CASCADE,
                    step INTEGER NOT NULL, record_id BIGINT NOT NULL, address TEXT NOT NULL, status TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL, claimed_by TEXT, lease_until BIGINT,
                    smtp_code INTEGER, smtp_status TEXT, smtp_text TEXT, sent_at BIGINT,
                    UNIQUE (mass_email_id, step, address))
                """,
                "CREATE INDEX mail_messages_due ON mail_messages (mass_email_id, status, next_attempt_at)",
                "CREATE INDEX mail_messages_claimed ON mail_messages (claimed_by) WHERE status = 'sending'",
                "CREATE INDEX mail_messages_sent ON mail_messages (sent_at) WHERE sent_at IS NOT NULL",
                """
                CREATE TABLE suppressions (address TEXT PRIMARY KEY, reason TEXT NOT NULL, detail TEXT,
                    created_at BIGINT NOT NULL)
                """,
                "CREATE TABLE send_quota (day TEXT PRIMARY KEY, used BIGINT NOT NULL)",
            ]
            for statement in statements { try await db.raw(statement).run() }
        },
        Migration(version: 5, name: "engagement tracking") { db, kind in
            let id = SchemaSQL.idColumn(kind)
            var statements: [SQLQueryString] = [
                "opened_at BIGINT", "machine_opened_at BIGINT", "opens INTEGER NOT NULL DEFAULT 0",
                "machine_opens INTEGER NOT NULL DEFAULT 0", "clicked_at BIGINT", "machine_clicked_at BIGINT",
                "clicks INTEGER NOT NULL DEFAULT 0", "machine_clicks INTEGER NOT NULL DEFAULT 0", "unsubscribed_at BIGINT",
            ].map { "ALTER TABLE mail_messages ADD COLUMN \($0)" }
            statements += [
                // What a click on link N of a mass email's step leads to: a redirect never goes anywhere else.
                """
                CREATE TABLE tracked_links (mass_email_id BIGINT NOT NULL REFERENCES mass_emails(id) ON DELETE CASCADE,
                    step INTEGER NOT NULL, link INTEGER NOT NULL, url TEXT NOT NULL, PRIMARY KEY (mass_email_id, step, link))
                """,
                """
                CREATE TABLE message_events (\(id), message_id BIGINT NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
                    mass_email_id BIGINT NOT NULL, step INTEGER NOT NULL, kind TEXT NOT NULL, link INTEGER,
                    is_machine BOOLEAN NOT NULL, reason TEXT, user_agent TEXT, at BIGINT NOT NULL)
                """,
                "CREATE INDEX message_events_mass_email ON message_events (mass_email_id, at)",
                "CREATE INDEX message_events_message ON message_events (message_id)",
            ]
            for statement in statements { try await db.raw(statement).run() }
        },
        Migration(version: 6, name: "tasks, calls and trigger actions") { db, kind in
            let id = SchemaSQL.idColumn(kind)
            let statements: [SQLQueryString] = [
                """
                CREATE TABLE tasks (\(id), module_id BIGINT NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
                    record_id BIGINT NOT NULL, subject TEXT NOT NULL, due_date TEXT, status TEXT NOT NULL, priority TEXT NOT NULL,
                    assignee_id BIGINT NOT NULL REFERENCES users(id), created_by BIGINT, mass_email_id BIGINT,
                    created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL)
                """,
                "CREATE INDEX tasks_record ON tasks (module_id, record_id)",
                "CREATE INDEX tasks_assignee ON tasks (assignee_id, status, due_date)",
                """
                CREATE TABLE calls (\(id), module_id BIGINT NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
                    record_id BIGINT NOT NULL, subject TEXT NOT NULL, owner_id BIGINT NOT NULL REFERENCES users(id),
                    start_at BIGINT NOT NULL, status TEXT NOT NULL, created_by BIGINT, mass_email_id BIGINT,
                    created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL)
                """,
                "CREATE INDEX calls_record ON calls (module_id, record_id)",
                "CREATE INDEX calls_owner ON calls (owner_id, status, start_at)",
                // Stored as JSON: the actions are read and written whole, with the mass email.
                "ALTER TABLE mass_emails ADD COLUMN trigger_actions TEXT NOT NULL DEFAULT '[]'",
                "ALTER TABLE mass_emails ADD COLUMN triggers_on_machines BOOLEAN NOT NULL DEFAULT FALSE",
                // One row per action that ran for a recipient record, inserted in the same
                // transaction as the action's effect: the key makes each action run once,
                // however often the event repeats and however many processes see it.
                """
                CREATE TABLE trigger_runs (mass_email_id BIGINT NOT NULL REFERENCES mass_emails(id) ON DELETE CASCADE,
                    action_index INTEGER NOT NULL, record_id BIGINT NOT NULL, event TEXT NOT NULL, ran_at BIGINT NOT NULL,
                    PRIMARY KEY (mass_email_id, action_index, record_id))
                """,
            ]
            for statement in statements { try await db.raw(statement).run() }
        },
        Migration(version: 7, name: "bounces and replies") { db, kind in
            let id = SchemaSQL.idColumn(kind)
            let statements: [SQLQueryString] = [
                // `fingerprint` makes recording idempotent: the same report delivered twice
                // (or a webhook retried) is one row. `raw` is the report as received, as text.
                """
                CREATE TABLE bounces (\(id), message_id BIGINT REFERENCES mail_messages(id) ON DELETE CASCADE,
                    mass_email_id BIGINT REFERENCES mass_emails(id) ON DELETE CASCADE, address TEXT NOT NULL,
                    kind TEXT NOT NULL, status TEXT, action TEXT, diagnostic TEXT, source TEXT NOT NULL,
                    fingerprint TEXT NOT NULL UNIQUE, raw TEXT, received_at BIGINT NOT NULL)
                """,
                "CREATE INDEX bounces_mass_email ON bounces (mass_email_id, id)",
                "CREATE INDEX bounces_address ON bounces (address, kind, received_at)",
                """
                CREATE TABLE replies (\(id), message_id BIGINT NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
                    mass_email_id BIGINT NOT NULL REFERENCES mass_emails(id) ON DELETE CASCADE, record_id BIGINT NOT NULL,
                    from_address TEXT, subject TEXT, headers TEXT NOT NULL, text TEXT NOT NULL,
                    fingerprint TEXT NOT NULL UNIQUE, forwarded_at BIGINT, received_at BIGINT NOT NULL)
                """,
                "CREATE INDEX replies_message ON replies (message_id)",
                "CREATE INDEX replies_record ON replies (record_id, id)",
            ]
            for statement in statements { try await db.raw(statement).run() }
        },
        Migration(version: 8, name: "follow-ups") { db, _ in
            // Stored as JSON like the trigger actions: a mass email's follow-ups are read and
            // written whole, with it, and only while it is a draft or scheduled.
            try await db.raw("ALTER TABLE mass_emails ADD COLUMN follow_ups TEXT NOT NULL DEFAULT '[]'").run()
            // A follow-up's "bounced" rule asks, per recipient, whether any report names their message.
            try await db.raw("CREATE INDEX bounces_message ON bounces (message_id)").run()
        },
        Migration(version: 9, name: "follow-up runs") { db, _ in
            // One row a follow-up of a sent mass email, made with the transition to sent: like
            // a mass email's own columns, the status changes by conditional UPDATEs (so one
            // process fires it) and resolving is leased and resumes at its cursor.
            try await db.raw("""
                CREATE TABLE follow_up_runs (mass_email_id BIGINT NOT NULL REFERENCES mass_emails(id) ON DELETE CASCADE,
                    step INTEGER NOT NULL, status TEXT NOT NULL, status_reason TEXT, due_at BIGINT, started_at BIGINT,
                    finished_at BIGINT, resolve_cursor BIGINT NOT NULL DEFAULT 0, resolved_at BIGINT, resolver TEXT,
                    resolver_lease BIGINT, excluded TEXT NOT NULL DEFAULT '{}', modified_at BIGINT NOT NULL,
                    PRIMARY KEY (mass_email_id, step))
                """).run()
            try await db.raw("CREATE INDEX follow_up_runs_status ON follow_up_runs (status, due_at)").run()
        },
        Migration(version: 10, name: "message indexes by step") { db, _ in
            // Claims read only messages waiting to go, a step at a time, oldest due first: an
            // index of just those keeps each claim as cheap at the millionth message as at the
            // first (with the step in the query, PostgreSQL chose a sequential scan past every
            // sent row). Counting a step's messages by status, and asking whether any is still
            // undecided, read an index of (mass email, step, status) alone.
            try await db.raw("DROP INDEX mail_messages_due").run()
            try await db.raw("CREATE INDEX mail_messages_status ON mail_messages (mass_email_id, step, status)").run()
            try await db.raw("""
                CREATE INDEX mail_messages_waiting ON mail_messages (mass_email_id, step, next_attempt_at)
                WHERE status IN ('queued', 'deferred')
                """).run()
        },
        Migration(version: 11, name: "delivery nodes and uncertain messages") { db, _ in
            // One row a sending process, its heartbeat moved on every second: a process whose
            // heartbeat is stale is dead, and the others take its claimed messages over (a
            // lease per message, renewed every 20 s and lapsing after 120, took two minutes).
            // `condition` is what holds its sending up, for the pages.
            try await db.raw("""
                CREATE TABLE delivery_nodes (node TEXT PRIMARY KEY, heartbeat_at BIGINT NOT NULL, started_at BIGINT NOT NULL,
                    condition TEXT, condition_since BIGINT, condition_next_try BIGINT, condition_reason TEXT)
                """).run()
            // A message whose data went out without a reply is retried like a deferred one.
            try await db.raw("DROP INDEX mail_messages_waiting").run()
            try await db.raw("""
                CREATE INDEX mail_messages_waiting ON mail_messages (mass_email_id, step, next_attempt_at)
                WHERE status IN ('queued', 'deferred', 'uncertain')
                """).run()
            try await db.raw("ALTER TABLE mail_messages DROP COLUMN lease_until").run()
        },
        Migration(version: 12, name: "sending domains and DKIM keys") { db, kind in
            let id = SchemaSQL.idColumn(kind)
            try await db.raw("""
                CREATE TABLE sending_domains (\(id), name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, checked_at BIGINT)
                """).run()
            // The private key never leaves the server: the pages and the API show only the
            // public record. A replaced key keeps signing nothing but stays listed (and its
            // record published) until retires_at, so that messages signed with it verify.
            try await db.raw("""
                CREATE TABLE domain_keys (\(id), domain_id BIGINT NOT NULL REFERENCES sending_domains(id) ON DELETE CASCADE,
                    selector TEXT NOT NULL, algorithm TEXT NOT NULL, private_key TEXT NOT NULL, public_record TEXT NOT NULL,
                    created_at BIGINT NOT NULL, replaced_at BIGINT, retires_at BIGINT, verified_at BIGINT,
                    UNIQUE (domain_id, selector))
                """).run()
        },
        Migration(version: 13, name: "bounce reasons") { db, _ in
            // Read from each report when it is recorded (see HeraldDelivery's BouncePolicy);
            // bounces recorded before stay without one.
            try await db.raw("ALTER TABLE bounces ADD COLUMN reason TEXT").run()
        },
        Migration(version: 14, name: "account management") { db, _ in
            // A session remembers the epoch it was made in; moving a user's epoch on (new
            // password, deactivation) ends all their sessions at once, wherever they are stored.
            try await db.raw("ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0").run()
            try await db.raw("ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT").run()
        },
        Migration(version: 15, name: "erased messages") { db, _ in
            // When the person a message went to was erased (GDPR art. 17; see ErasureStore):
            // the row stays, without the address, the record or the server's reply, so that
            // the mass email's figures stay right; it is nobody's now, and nothing is sent or
            // followed up on it again.
            try await db.raw("ALTER TABLE mail_messages ADD COLUMN erased_at BIGINT").run()
        },
        Migration(version: 16, name: "test sends") { db, kind in
            // Kept for the limit (TestSendStore) and the count; the address, so an admin can see
            // where tests went if a relay complains.
            try await db.raw("""
                CREATE TABLE test_sends (\(SchemaSQL.idColumn(kind)), user_id BIGINT NOT NULL REFERENCES users(id),
                    address TEXT NOT NULL, sent_at BIGINT NOT NULL)
                """).run()
            try await db.raw("CREATE INDEX test_sends_user ON test_sends (user_id, sent_at)").run()
        },
        Migration(version: 17, name: "delivery in each recipient's time zone") { db, _ in
            // The date, time of day and what to do where it has passed (LocalDelivery, as
            // JSON); NULL for a mass email that goes at one instant. Each message then waits
            // for its recipient's time in its own next_attempt_at; planned_at keeps that time
            // (next_attempt_at moves on a retry) for the page's "how many go out when".
            try await db.raw("ALTER TABLE mass_emails ADD COLUMN local_delivery TEXT").run()
            try await db.raw("ALTER TABLE mail_messages ADD COLUMN planned_at BIGINT").run()
        },
        Migration(version: 18, name: "A/B tests") { db, _ in
            // ab_test: the variants, share, measure and wait (ABTest, as JSON); ab_decide_at:
            // when the rule picks the winner, set when the test share is drawn; ab_decision:
            // the winner and why (ABDecision), written once by a conditional UPDATE.
            // A message's variant, and its place in the draw (ABTest.key); the rest of the
            // recipients wait as 'held' with no variant until the winner is known, and lose
            // their place when it goes to them, so that the test's figures stay the test's.
            for statement: SQLQueryString in [
                "ALTER TABLE mass_emails ADD COLUMN ab_test TEXT", "ALTER TABLE mass_emails ADD COLUMN ab_decide_at BIGINT",
                "ALTER TABLE mass_emails ADD COLUMN ab_decision TEXT", "ALTER TABLE mail_messages ADD COLUMN variant INTEGER",
                "ALTER TABLE mail_messages ADD COLUMN ab_key BIGINT",
            ] { try await db.raw(statement).run() }
        },
        Migration(version: 19, name: "the status a claimed message had") { db, _ in
            // A claim sets status 'sending'; what it was (queued, deferred, uncertain) comes back
            // when the message is given back unsent (a restart, a takeover, a rest, the relay
            // out), so that an uncertain message stays counted apart until a server accepts it.
            try await db.raw("ALTER TABLE mail_messages ADD COLUMN prior_status TEXT").run()
        },
        Migration(version: 20, name: "claim numbers") { db, _ in
            // Every claim counts one up, given back or not (attempts does not count a give-back),
            // and an outcome is written only for the claim it names: a late outcome of a claim
            // that was given back uncounted can no longer land on the message's next claim.
            // Claims made before matched outcomes by attempts, so the count starts where a journal
            // of the old version still matches: a held message's attempt, and for one waiting
            // unclaimed the attempt it was given back from (the old rule's attempts + 1). The
            // waiting statuses are written out: a migration must not follow later code.
            try await db.raw("ALTER TABLE mail_messages ADD COLUMN claims INTEGER NOT NULL DEFAULT 0").run()
            try await db.raw("""
                UPDATE mail_messages SET claims = CASE WHEN status IN ('queued', 'deferred', 'uncertain') AND claimed_by IS NULL
                                                       THEN attempts + 1 ELSE attempts END
                """).run()
        },
    ]
}
