import Foundation
import Hummingbird
import HummingbirdCore
import HeraldCore
import HeraldDelivery
import HeraldStore

/// A module's list view, record pages and record forms.
struct RecordPages {
    let store: Store
    let delivery: Delivery
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/m/:module") { request, context in try await list(request, context) }
        app.get("/m/:module/new") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return try await form(module: module, record: nil, inputs: [:], problems: [], context: context)
        }
        app.post("/m/:module") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            let form = try await FormData.read(request, context: context)
            let inputs = try await RecordPages.inputs(from: form, module: module, user: user)
            do {
                let changes = try RecordChanges.validate(inputs.mapValues(FieldInput.text), module: module, creating: true).get()
                let record = try await delivery.records.create(in: module, changes, by: user)
                return Response.redirect(to: "/m/\(module.apiName)/\(record.id)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await self.form(module: module, record: nil, inputs: inputs, problems: error.problems, context: context)
            }
        }
        app.get("/m/:module/export.csv") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return try await CSVTransfer.export(module: module, query: { request.uri.queryParameters[Substring($0)] }, user: try context.user(), store: store)
        }
        // "Export selected" in the list page's More menu: the ticked records only.
        app.post("/m/:module/export-selected.csv") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let ids = try await FormData.read(request, context: context).all("ids").compactMap { Int64($0) }
            guard !ids.isEmpty else { throw HeraldError.invalid(field: "ids", "select at least one record") }
            return CSVTransfer.export(module: module, criteria: .all([]), within: .records(ids), scope: try context.user().scope,
                                      store: store, filename: module.apiName + "-selected")
        }
        app.post("/m/:module/lists/:id/rename") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            let id = try context.parameters.require("id", as: Int64.self)
            let list: StaticList
            do {
                list = try await store.lists.rename(id, in: module, to: form["name"] ?? "", scope: try context.user().scope)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await self.list(request, context, listID: id, refusedRename: (form["name"] ?? "", error))
            }
            return context.redirect(to: "/m/\(module.apiName)?list=\(list.id)", flash: "The list is now named \(list.name).")
        }
        app.post("/m/:module/lists/:id/delete") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let name = try await store.lists.delete(try context.parameters.require("id", as: Int64.self), in: module, scope: try context.user().scope)
            return context.redirect(to: "/m/\(module.apiName)", flash: "The list \(name) is deleted; its records stay.")
        }
        app.post("/m/:module/selection") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            let ids = form.all("ids").compactMap { Int64($0) }
            guard !ids.isEmpty else { throw HeraldError.invalid(field: "ids", "select at least one record") }
            switch form["action"] {
            case "add_to_list"?:
                guard let listID = form["list"].flatMap({ Int64($0) }) else { throw HeraldError.invalid(field: "list", "choose a list") }
                let list = try await store.lists.add(ids, to: listID, in: module, scope: try context.user().scope)
                return context.redirect(to: "/m/\(module.apiName)?list=\(listID)", flash: "\(module.counted(ids.count)) added to \(list.name).")
            case "new_list"?:
                let user = try context.user()
                let list = try await store.lists.create(in: module, name: form["list_name"] ?? "", by: user.id, members: ids, scope: user.scope)
                return context.redirect(to: "/m/\(module.apiName)?list=\(list.id)", flash: "Made the list \(list.name) of \(module.counted(ids.count)).")
            case "remove_from_list"?:
                guard let listID = form["current_list"].flatMap({ Int64($0) }) else { throw HeraldError.invalid(field: "current_list", "choose a list") }
                let list = try await store.lists.remove(ids, from: listID, in: module, scope: try context.user().scope)
                return context.redirect(to: "/m/\(module.apiName)?list=\(listID)", flash: "\(module.counted(ids.count)) taken off \(list.name).")
            case "delete"?:
                try await delivery.records.delete(ids, in: module, by: try context.user())
                return context.redirect(to: "/m/\(module.apiName)", flash: "\(module.counted(ids.count)) deleted.")
            default:
                throw HeraldError.invalid(field: "action", "choose what to do with the selected records")
            }
        }
        app.get("/m/:module/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return try await detail(module: module, record: try await find(module, context), context: context, problems: [])
        }
        app.get("/m/:module/:id/edit") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let record = try await find(module, context)
            let local = LocalTime(zoneNamed: try context.user().timeZone)
            let inputs = record.values.mapValues { RecordPages.formValue($0, local: local) }
            return try await form(module: module, record: record, inputs: inputs, problems: [], context: context)
        }
        app.post("/m/:module/:id") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let record = try await find(module, context)
            let user = try context.user()
            let form = try await FormData.read(request, context: context)
            let inputs = try await RecordPages.inputs(from: form, module: module, user: user)
            do {
                let changes = try RecordChanges.validate(inputs.mapValues(FieldInput.text), module: module, creating: false).get()
                _ = try await delivery.records.update(record.id, in: module, changes, by: user)
                return Response.redirect(to: "/m/\(module.apiName)/\(record.id)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await self.form(module: module, record: record, inputs: inputs, problems: error.problems, context: context)
            }
        }
        app.post("/m/:module/:id/delete") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            try await delivery.records.delete([try context.parameters.require("id", as: Int64.self)], in: module, by: try context.user())
            return Response.redirect(to: "/m/\(module.apiName)", type: .found)
        }
    }

    /// A record's page: its fields, its tasks and calls with forms to add one; `problems` are a
    /// refused task (`task.…`) or call (`call.…`).
    func detail(module: Module, record: Record, context: AppRequestContext, problems: [Problem]) async throws -> Response {
        let user = try context.user()
        let modules = try await store.modules.all()
        let users = try await store.users.all()
        let local = LocalTime(zoneNamed: user.timeZone)
        let rows = module.fields.map { field in
            var link: String?, mailto: String?
            if field.type == .lookup, case .reference(let id)? = record[field.apiName], let target = field.lookupModule {
                link = "/m/\(target)/\(id)"
            }
            if field.type == .email, case .text(let e)? = record[field.apiName] { mailto = e }
            return Detail.Row(label: field.label, value: RecordPages.display(record[field.apiName], field: field, users: users, local: local),
                              link: link, mailto: mailto)
        }
        let here = "/m/\(module.apiName)/\(record.id)"
        let activities = ActivityPages(store: store, delivery: delivery, pages: pages)
        let tasks = try await delivery.activities.tasks(.init(record: (module.apiName, record.id)), for: user)
        let calls = try await delivery.activities.calls(.init(record: (module.apiName, record.id)), for: user)
        let replies = try await store.replies.list(module: module.id, record: record.id, limit: 20).map { r in
            Detail.Reply(from: r.fromAddress ?? "(unknown sender)", subject: r.subject ?? "(no subject)", text: r.text,
                         when: local.readable(r.receivedAt), massEmailLink: "/mass-emails/\(r.massEmailID)")
        }
        let (messages, suppressions) = try await delivery.records.mailHistory(of: record, in: module, for: user)
        let mail = messages.map { m in
            Detail.Mail(massEmail: m.massEmailName, link: "/mass-emails/\(m.massEmailID)", message: MassEmailPages.stepLabel(m.step),
                        status: m.status.rawValue, sent: m.sentAt.map(local.readable) ?? "",
                        opened: m.openedAt.map(local.readable) ?? "", clicked: m.clickedAt.map(local.readable) ?? "",
                        unsubscribed: m.unsubscribedAt.map(local.readable) ?? "")
        }
        let suppressed = suppressions.map { s in
            "\(s.address) is on the suppression list (\(s.reason), since \(local.readable(s.createdAt))): mass email skips it"
        }
        func errors(_ prefix: String) -> [String] {
            problems.filter { $0.field.hasPrefix(prefix + ".") }.map { "\($0.field.dropFirst(prefix.count + 1)): \($0.reason)" }
        }
        let model = Detail(
            module: ModuleLabels(module), id: record.id, title: record.title(in: module), fields: rows,
            tasks: try await activities.rows(tasks: tasks, back: here + "#tasks"),
            calls: try await activities.rows(calls: calls, local: local, back: here + "#calls"),
            users: users.filter(\.isActive).map { Detail.UserOption(id: $0.id, name: $0.name, selected: $0.id == user.id) },
            priorities: CRMTask.Priority.allCases.map { SelectOption(value: $0.rawValue, label: $0.label, selected: $0 == .normal) },
            hasTasks: !tasks.isEmpty, hasCalls: !calls.isEmpty, replies: replies, hasReplies: !replies.isEmpty,
            mail: mail, hasMail: !mail.isEmpty, suppressed: suppressed,
            taskErrors: errors("task"), callErrors: errors("call"),
            // Erasing (GDPR art. 17) is for admins, and for people: records with an address of their own.
            canErase: user.isAdmin && module.emailField != nil,
            hasTaskErrors: !errors("task").isEmpty, hasCallErrors: !errors("call").isEmpty, zone: user.timeZone)
        let html = pages.render("record", title: record.title(in: module), context: context, page: model,
                                modules: modules, current: module.apiName)
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    func find(_ module: Module, _ context: AppRequestContext) async throws -> Record {
        try await delivery.records.find(try context.parameters.require("id", as: Int64.self), in: module, for: try context.user())
    }

    /// The list view: a view or list chosen from the drop-down, search, sort, chosen columns, pages.
    /// The list page, as `request` asks; `listID` shows that static list instead (a refused
    /// rename's page, with the name typed and why it was refused).
    func list(_ request: Request, _ context: AppRequestContext, listID: Int64? = nil,
              refusedRename: (typed: String, error: HeraldError)? = nil) async throws -> Response {
        let module = try await store.modules.named(context.parameters.require("module"))
        let user = try context.user()
        let query = (listID.map { URI("/m/\(module.apiName)?list=\($0)") } ?? request.uri).queryParameters
        let listing = try RecordListing(query: query, module: module)
        let result = try await listing.run(module: module, store: store, user: user)
        let views = try await store.views.all(in: module)
        let lists = try await store.lists.all(in: module, scope: user.scope)
        let users = try await store.users.all()
        let modules = try await store.modules.all()
        let local = LocalTime(zoneNamed: user.timeZone)
        let requested = (query["columns"].map { $0.split(separator: ",").map(String.init) } ?? [])
            .filter { module.field($0) != nil }
        let columns = requested.isEmpty ? RecordPages.defaultColumns(module) : requested.compactMap { module.field($0) }
        let totalPages = max(1, (result.page.total + listing.perPage - 1) / listing.perPage)

        func link(page: Int? = nil, sort: String? = nil, order: String? = nil) -> String {
            var items: [(String, String)] = []
            if let v = listing.viewID { items.append(("view", String(v))) }
            if let l = listing.listID { items.append(("list", String(l))) }
            if let q = listing.search { items.append(("q", q)) }
            if !requested.isEmpty { items.append(("columns", requested.joined(separator: ","))) }
            if let s = sort ?? listing.sort { items.append(("sort", s)); items.append(("order", order ?? (listing.descending ? "desc" : "asc"))) }
            items.append(("page", String(page ?? listing.page)))
            return "/m/\(module.apiName)?" + items.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        }

        var currentList: List.CurrentList? = nil
        if let shown = result.list {
            // A clash names the other list; a bad name says what is wrong with it.
            let renameError: String? = refusedRename.map { refused in
                refused.error.kind == .invalid ? refused.error.problems.first.map { "Name: " + $0.reason } ?? refused.error.message : refused.error.message
            }
            currentList = List.CurrentList(id: shown.id, name: shown.name, mayChange: user.mayChange(madeBy: shown.createdBy),
                                           typedName: refusedRename?.typed ?? shown.name, renameError: renameError)
        }
        let model = List(
            module: ModuleLabels(module),
            columns: columns.map { field in
                let active = listing.sort == field.apiName
                let nextOrder = active && !listing.descending ? "desc" : "asc"
                return List.Column(label: field.label, apiName: field.apiName, sortLink: link(page: 1, sort: field.apiName, order: nextOrder),
                                   sorted: active, arrow: active ? (listing.descending ? "▼" : "▲") : "")
            },
            allColumns: module.fields.map { List.ColumnChoice(apiName: $0.apiName, label: $0.label, checked: columns.contains($0)) },
            rows: result.page.records.map { record in
                List.Row(id: record.id, link: "/m/\(module.apiName)/\(record.id)", cells: columns.enumerated().map { i, field in
                    let value = RecordPages.display(record[field.apiName], field: field, users: users, local: local)
                    return List.Cell(value: value.isEmpty ? nil : value, first: i == 0)
                })
            },
            views: views.map { List.Choice(id: $0.id, name: $0.name, selected: $0.id == listing.viewID, count: nil) },
            hasLists: !lists.isEmpty,
            lists: lists.map { List.Choice(id: $0.id, name: $0.name, selected: $0.id == listing.listID, count: $0.memberCount) },
            changeableLists: lists.filter { user.mayChange(madeBy: $0.createdBy) }.map { List.Named(id: $0.id, name: $0.name) },
            hasChangeableLists: lists.contains { user.mayChange(madeBy: $0.createdBy) },
            currentView: result.view.map {
                List.CurrentView(id: $0.id, name: $0.name, summary: $0.criteria.summary(in: module), mayChange: user.mayChange(madeBy: $0.createdBy))
            },
            currentList: currentList,
            search: listing.search ?? "", sort: listing.sort, order: listing.descending ? "desc" : "asc",
            columnsParam: requested.isEmpty ? nil : requested.joined(separator: ","),
            total: result.page.total, totalLabel: result.page.total == 1 ? module.singularLabel : module.pluralLabel,
            page: listing.page, pages: totalPages,
            prev: listing.page > 1 ? link(page: listing.page - 1) : nil,
            next: listing.page < totalPages ? link(page: listing.page + 1) : nil,
            // What the page lists: its view or list, and its search.
            exportLink: "/m/\(module.apiName)/export.csv?" + [listing.viewID.map { "view=\($0)" }, listing.listID.map { "list=\($0)" },
                                                                 listing.search.map { "q=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }]
                .compactMap { $0 }.joined(separator: "&"),
            canMail: RecipientAddressSource.of(module, among: modules) != nil, listNameMax: ViewStore.maxNameLength,
            empty: result.page.records.isEmpty)
        return HTMLResponse(html: pages.render("records", title: module.pluralLabel, context: context, page: model,
                                               modules: modules, current: module.apiName),
                            status: refusedRename.map { ErrorMiddleware.status(for: $0.error.kind) } ?? .ok).response
    }

    /// The create and edit form, with each field's error beside it.
    func form(module: Module, record: Record?, inputs: [String: String], problems: [Problem],
              context: AppRequestContext) async throws -> Response {
        let users = try await store.users.all()
        let user = try context.user()
        var lookups: [String: [Record]] = [:]
        for field in module.fields where field.type == .lookup {
            if let target = field.lookupModule, let targetModule = try? await store.modules.named(target) {
                lookups[field.apiName] = try await store.records.list(in: targetModule, RecordQuery(limit: 500), scope: user.scope).records
                    .map { var r = $0; r.values["__title"] = .text($0.title(in: targetModule)); return r }
            }
        }
        let errors = AdminPages.errorMap(problems)
        let fields = module.editableFields.map { field in
            let value = inputs[field.apiName] ?? (field.apiName == BuiltinFields.owner && record == nil ? String(user.id) : "")
            let blank = [SelectOption(value: "", label: "—", selected: value.isEmpty)]
            var options: [SelectOption]?
            switch field.type {
            case .picklist: options = blank + field.picklistValues.map { SelectOption(value: $0, label: $0, selected: $0 == value) }
            case .timeZone: options = blank + TimeZoneNames.all.map { SelectOption(value: $0, label: $0, selected: $0 == value) }
            case .user:
                // Only admins give records to others (RecordActions.checkOwner): a user picks from themselves.
                let choices = field.apiName == BuiltinFields.owner && !user.isAdmin
                    ? users.filter { $0.id == user.id || String($0.id) == value } : users
                options = (field.isRequired ? [] : blank)
                    + choices.map { SelectOption(value: String($0.id), label: $0.name, selected: String($0.id) == value) }
            case .lookup:
                options = blank + (lookups[field.apiName] ?? []).map {
                    SelectOption(value: String($0.id), label: $0.values["__title"]?.text ?? "#\($0.id)", selected: String($0.id) == value)
                }
            default: options = nil
            }
            return Form.Field(
                apiName: field.apiName, label: field.label, value: value, required: field.isRequired, error: errors[field.apiName],
                inputType: RecordPages.inputType(field.type),
                step: field.type == .currency ? "0.01" : (field.type == .number ? "any" : nil), max: field.type.maxLength,
                isTextarea: field.type == .longText, isCheckbox: field.type == .boolean, checked: field.type == .boolean && value == "true",
                isSelect: options != nil, options: options ?? [],
                isInput: options == nil && field.type != .longText && field.type != .boolean)
        }
        let general = problems.filter { module.field($0.field) == nil || module.field($0.field)?.isSystem == true }.map(\.description)
        let title = record.map { "Edit \($0.title(in: module))" } ?? "New \(module.singularLabel)"
        let model = Form(
            module: ModuleLabels(module), title: title,
            action: record.map { "/m/\(module.apiName)/\($0.id)" } ?? "/m/\(module.apiName)",
            cancel: record.map { "/m/\(module.apiName)/\($0.id)" } ?? "/m/\(module.apiName)",
            fields: fields, hasErrors: !problems.isEmpty, generalErrors: general)
        let html = pages.render("record_form", title: title, context: context, page: model,
                                modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    /// Form fields as text inputs for validation. Checkboxes send "false" from a hidden input
    /// and "true" when ticked (the last value wins); date-times typed in the user's zone
    /// become instants.
    static func inputs(from form: FormData, module: Module, user: User) async throws -> [String: String] {
        let local = LocalTime(zoneNamed: user.timeZone)
        var inputs: [String: String] = [:]
        for field in module.editableFields {
            let values = form.all(field.apiName)
            guard var value = values.last else { continue }
            if field.type == .datetime, !value.isEmpty, ISODateTime.parse(value) == nil, let typed = local.parseInput(value) {
                value = ISODateTime.format(typed)
            }
            inputs[field.apiName] = value
        }
        return inputs
    }

    /// A value as a form input holds it.
    static func formValue(_ value: FieldValue, local: LocalTime) -> String {
        if case .datetime(let s) = value { return local.input(s) }
        return value.text
    }

    /// A value as a person reads it: users by name, times in their zone, amounts with two decimals.
    static func display(_ value: FieldValue?, field: Field, users: [User], local: LocalTime) -> String {
        guard let value else { return "" }
        switch value {
        case .reference(let id) where field.type == .user: return users.first { $0.id == id }?.name ?? "user \(id)"
        case .reference(let id): return "#\(id)"
        case .datetime(let s): return local.numeric(s)
        case .bool(let b): return b ? "Yes" : "No"
        default: return value.text
        }
    }

    static func inputType(_ type: FieldType) -> String {
        switch type {
        case .email: "email"
        case .phone: "tel"
        case .number, .currency: "number"
        case .date: "date"
        case .datetime: "datetime-local"
        default: "text"
        }
    }

    static func defaultColumns(_ module: Module) -> [Field] {
        Array(module.fields.filter { !$0.isSystem && $0.type != .longText && $0.apiName != BuiltinFields.emailOptOut }.prefix(6))
    }

    /// A record's page with its tasks, calls and replies (`record.mustache`).
    struct Detail: PageModel {
        struct Row: PageModel { let label: String, value: String, link: String?, mailto: String? }
        struct Reply: PageModel { let from: String, subject: String, text: String, when: String, massEmailLink: String }
        struct UserOption: PageModel { let id: Int64, name: String, selected: Bool }
        /// A message mass email sent the record: its status and what the recipient did.
        struct Mail: PageModel {
            let massEmail: String, link: String, message: String, status: String, sent: String
            let opened: String, clicked: String, unsubscribed: String
        }

        let module: ModuleLabels
        let id: Int64
        let title: String
        let fields: [Row]
        let tasks: [ActivityPages.TaskRow]
        let calls: [ActivityPages.CallRow]
        let users: [UserOption]
        let priorities: [SelectOption]
        let hasTasks: Bool, hasCalls: Bool
        let replies: [Reply]
        let hasReplies: Bool
        let mail: [Mail]
        let hasMail: Bool
        /// Its addresses on the suppression list, each with why and since when.
        let suppressed: [String]
        let taskErrors: [String], callErrors: [String]
        let canErase: Bool, hasTaskErrors: Bool, hasCallErrors: Bool
        let zone: String
    }

    /// The list view (`records.mustache`).
    struct List: PageModel {
        struct Column: PageModel { let label: String, apiName: String, sortLink: String, sorted: Bool, arrow: String }
        struct ColumnChoice: PageModel { let apiName: String, label: String, checked: Bool }
        /// A cell's value is missing when empty, so that the first column can say "(no name)".
        struct Cell: PageModel { let value: String?, first: Bool }
        struct Row: PageModel {
            let id: Int64
            let link: String
            let cells: [Cell]
        }
        struct Choice: PageModel {
            let id: Int64
            let name: String
            let selected: Bool
            let count: Int?
        }
        struct Named: PageModel { let id: Int64, name: String }
        /// The list shown, and whether its members may be taken off it and it deleted here.
        struct CurrentList: PageModel {
            let id: Int64, name: String, mayChange: Bool
            /// In the rename box: the name, or what a refused rename typed.
            let typedName: String
            let renameError: String?
        }
        struct CurrentView: PageModel {
            let id: Int64
            let name: String, summary: String
            let mayChange: Bool
        }

        let module: ModuleLabels
        let columns: [Column]
        let allColumns: [ColumnChoice]
        let rows: [Row]
        let views: [Choice]
        let hasLists: Bool
        let lists: [Choice]
        let changeableLists: [Named]
        let hasChangeableLists: Bool
        let currentView: CurrentView?
        let currentList: CurrentList?
        let search: String
        /// Missing rather than empty when not sorted, not chosen or not there, so that their
        /// sections are left out: Mustache opens a section for an empty string.
        let sort: String?
        let order: String
        let columnsParam: String?
        /// "Contact" after 1, "Contacts" after any other count.
        let total: Int, totalLabel: String, page: Int, pages: Int
        let prev: String?, next: String?
        let exportLink: String
        /// Whether its records have an address (their own, or a lookup's): "Mass email" shows.
        let canMail: Bool
        /// The longest list name the store takes, so that the browser stops there.
        let listNameMax: Int
        let empty: Bool
    }

    /// The create and edit form (`record_form.mustache`).
    struct Form: PageModel {
        struct Field: PageModel {
            let apiName: String, label: String, value: String
            let required: Bool
            let error: String?
            let inputType: String
            let step: String?
            let max: Int?
            let isTextarea: Bool, isCheckbox: Bool, checked: Bool, isSelect: Bool
            let options: [SelectOption]
            let isInput: Bool
        }

        let module: ModuleLabels
        let title: String, action: String, cancel: String
        let fields: [Field]
        let hasErrors: Bool
        let generalErrors: [String]
    }
}

extension Module {
    /// "1 Contact", "3 Contacts".
    func counted(_ n: Int) -> String { "\(n) \(n == 1 ? singularLabel : pluralLabel)" }
}
