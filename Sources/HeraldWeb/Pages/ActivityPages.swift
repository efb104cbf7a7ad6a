import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// "My tasks" and "My calls", and the forms on a record page that add a task or a call and
/// mark one done. Mistakes show on the record page, each under its form.
struct ActivityPages {
    let store: Store
    let delivery: Delivery
    let pages: PageRenderer

    var activities: ActivityActions { delivery.activities }

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/tasks") { request, context in
            let user = try context.user()
            let showAll = request.uri.queryParameters["show"].map(String.init) == "all"
            let tasks = try await activities.tasks(.init(mine: true, openOnly: !showAll), for: user)
            let rows = try await rows(tasks: tasks)
            let modules = try await store.modules.all()
            return HTMLResponse(html: pages.render("tasks", title: "My tasks", context: context,
                                                   page: List(rows: rows, empty: rows.isEmpty, showAll: showAll, zone: nil),
                                                   modules: modules, current: "tasks")).response
        }
        app.get("/calls") { request, context in
            let user = try context.user()
            let showAll = request.uri.queryParameters["show"].map(String.init) == "all"
            let calls = try await activities.calls(.init(mine: true, openOnly: !showAll), for: user)
            let rows = try await rows(calls: calls, local: LocalTime(zoneNamed: user.timeZone))
            let modules = try await store.modules.all()
            return HTMLResponse(html: pages.render("calls", title: "My calls", context: context,
                                                   page: List(rows: rows, empty: rows.isEmpty, showAll: showAll, zone: user.timeZone),
                                                   modules: modules, current: "calls")).response
        }
        app.post("/m/:module/:id/tasks") { request, context in
            let (module, record) = try await target(context)
            let user = try context.user()
            let form = try await FormData.read(request, context: context)
            do {
                // The form's fields, read like the API's JSON.
                var object: [String: JSONValue] = ["subject": .string(form["subject"] ?? ""), "priority": .string(form["priority"] ?? "normal")]
                if let due = form["due_date"], !due.isEmpty { object["due_date"] = .string(due) }
                var r = try JSONObjectReader(.object(object))
                let subject = r.string("subject", required: true, maxLength: CRMTask.maxSubjectLength) ?? ""
                let due = r.date("due_date")
                let priority: CRMTask.Priority = r.choice("priority") ?? .normal
                try r.finish()
                let assignee = form["assignee_id"].flatMap { Int64($0) } ?? user.id
                _ = try await activities.add(CRMTask(id: 0, module: module.apiName, recordID: record.id, subject: subject, dueDate: due,
                                                     status: .notStarted, priority: priority, assigneeID: assignee, createdAt: 0, modifiedAt: 0),
                                             by: user)
                return Response.redirect(to: "/m/\(module.apiName)/\(record.id)#tasks", type: .found)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await recordPage(module, record, refusing: error, as: "task", context: context)
            }
        }
        app.post("/m/:module/:id/calls") { request, context in
            let (module, record) = try await target(context)
            let user = try context.user()
            let form = try await FormData.read(request, context: context)
            do {
                var problems = ProblemList()
                let start = LocalTime(zoneNamed: user.timeZone).parseInput(form["start"] ?? "").map { Int64($0.timeIntervalSince1970) }
                if start == nil { problems.add("start", "'\(form["start"] ?? "")' is not a date and time (YYYY-MM-DDTHH:MM)") }
                if let reason = CRMTask.subjectProblem(form["subject"] ?? "") { problems.add("subject", reason) }
                try problems.check()
                let owner = form["owner_id"].flatMap { Int64($0) } ?? user.id
                _ = try await activities.add(CRMCall(id: 0, module: module.apiName, recordID: record.id, subject: form["subject"] ?? "",
                                                     ownerID: owner, startAt: start!, status: .scheduled, createdAt: 0, modifiedAt: 0),
                                             by: user)
                return Response.redirect(to: "/m/\(module.apiName)/\(record.id)#calls", type: .found)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await recordPage(module, record, refusing: error, as: "call", context: context)
            }
        }
        app.post("/tasks/:id/complete") { request, context in
            _ = try await activities.changeTask(try context.parameters.require("id", as: Int64.self), by: try context.user()) { $0.status = .completed }
            return Response.redirect(to: ActivityPages.back(try await FormData.read(request, context: context), or: "/tasks"), type: .found)
        }
        app.post("/calls/:id/complete") { request, context in
            _ = try await activities.changeCall(try context.parameters.require("id", as: Int64.self), by: try context.user()) { $0.status = .completed }
            return Response.redirect(to: ActivityPages.back(try await FormData.read(request, context: context), or: "/calls"), type: .found)
        }
    }

    /// The record in the path, if the user may see it.
    /// The record's page again, with the refused task or call form's problems beside its
    /// fields (`task.subject`).
    func recordPage(_ module: Module, _ record: Record, refusing error: HeraldError, as form: String,
                    context: AppRequestContext) async throws -> Response {
        try await RecordPages(store: store, delivery: delivery, pages: pages).detail(module: module, record: record, context: context,
                                                                 problems: error.problems.map { Problem(field: "\(form).\($0.field)", reason: $0.reason) })
    }

    func target(_ context: AppRequestContext) async throws -> (Module, Record) {
        let module = try await store.modules.named(context.parameters.require("module"))
        return (module, try await RecordPages(store: store, delivery: delivery, pages: pages).find(module, context))
    }

    /// Where a form asked to go back to: a path on this site only, never another site.
    static func back(_ form: FormData, or fallback: String) -> String {
        guard let back = form["back"], back.hasPrefix("/"), !back.hasPrefix("//") else { return fallback }
        return back
    }


    /// Table rows for tasks: subject, the record it is about, due date, status, priority, assignee.
    func rows(tasks: [CRMTask], back: String = "/tasks") async throws -> [TaskRow] {
        let names = try await userNames()
        let titles = try await recordTitles(tasks.map { ($0.module, $0.recordID) })
        let today = LocalDate(Date(), in: try await store.settings.timeZone())
        return tasks.map { t in
            TaskRow(id: t.id, subject: t.subject, due: t.dueDate?.description ?? "—",
                    overdue: t.status.isOpen && (t.dueDate.map { $0 < today } ?? false),
                    status: t.status.rawValue, statusLabel: t.status.label, priority: t.priority.label,
                    assignee: names[t.assigneeID] ?? "user \(t.assigneeID)", open: t.status.isOpen,
                    record: titles["\(t.module)/\(t.recordID)"] ?? "#\(t.recordID)", recordLink: "/m/\(t.module)/\(t.recordID)",
                    massEmailLink: t.massEmailID.map { "/mass-emails/\($0)" }, back: back)
        }
    }

    /// Table rows for calls: subject, record, start (in the user's zone), status, owner.
    func rows(calls: [CRMCall], local: LocalTime, back: String = "/calls") async throws -> [CallRow] {
        let names = try await userNames()
        let titles = try await recordTitles(calls.map { ($0.module, $0.recordID) })
        return calls.map { c in
            CallRow(id: c.id, subject: c.subject, start: local.readable(c.startAt),
                    status: c.status.rawValue, statusLabel: c.status.label, owner: names[c.ownerID] ?? "user \(c.ownerID)",
                    open: c.status == .scheduled,
                    record: titles["\(c.module)/\(c.recordID)"] ?? "#\(c.recordID)", recordLink: "/m/\(c.module)/\(c.recordID)",
                    massEmailLink: c.massEmailID.map { "/mass-emails/\($0)" }, back: back)
        }
    }

    struct TaskRow: PageModel {
        let id: Int64
        let subject: String, due: String
        let overdue: Bool
        let status: String, statusLabel: String, priority: String, assignee: String
        let open: Bool
        let record: String, recordLink: String
        let massEmailLink: String?
        let back: String
    }

    struct CallRow: PageModel {
        let id: Int64
        let subject: String, start: String, status: String, statusLabel: String, owner: String
        let open: Bool
        let record: String, recordLink: String
        let massEmailLink: String?
        let back: String
    }

    /// "My tasks" (`tasks.mustache`, with task rows) and "My calls" (`calls.mustache`, with
    /// call rows and the zone their times are in).
    struct List<Row: PageModel>: PageModel {
        let rows: [Row]
        let empty: Bool
        let showAll: Bool
        let zone: String?
    }

    func userNames() async throws -> [Int64: String] {
        Dictionary(try await store.users.all().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }

    /// Record titles by "module/id".
    func recordTitles(_ refs: [(String, Int64)]) async throws -> [String: String] {
        var out: [String: String] = [:]
        for (moduleName, ids) in Dictionary(grouping: refs, by: \.0).mapValues({ Array(Set($0.map(\.1))) }) {
            guard let module = try? await store.modules.named(moduleName) else { continue }
            for record in try await store.records.find(in: module, ids: ids.sorted(), scope: .all) {
                out["\(moduleName)/\(record.id)"] = record.title(in: module)
            }
        }
        return out
    }
}
