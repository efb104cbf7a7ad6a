import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// The mass email pages: the summary with its tabs, the create/edit form, and a mass
/// email's own page (progress, skipped recipients, per-recipient outcomes).
///
/// The form posts the same fields as the API's JSON (turned into that JSON by
/// ``formJSON(_:module:)``), so both are checked by ``MassEmailInput``.
struct MassEmailPages {
    let store: Store
    let delivery: Delivery
    let pages: PageRenderer

    /// The summary's tabs, in order; paused and failed show beside the others.
    static let tabs: [(key: String, label: String, statuses: [MassEmail.Status])] = [
        ("scheduled", "Scheduled", [.scheduled]), ("sending", "Sending", [.sending]), ("sent", "Sent", [.sent]),
        ("stopped", "Stopped", [.stopped]), ("drafts", "Drafts", [.draft]), ("paused", "Paused", [.paused]), ("failed", "Failed", [.failed]),
    ]

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/mass-emails") { request, context in
            try await summary(tab: request.uri.queryParameters["tab"].map(String.init), context: context)
        }
        app.get("/mass-emails/new") { request, context in
            let moduleName = request.uri.queryParameters["module"].map(String.init) ?? "contacts"
            let module = try await store.modules.named(moduleName)
            return try await form(module: module, existing: nil, values: ["send": "now"], recordIDs: [], problems: [], context: context)
        }
        // "More → Mass email" on a list page posts the ticked records here.
        app.post("/mass-emails/new") { request, context in
            let form = try await FormData.read(request, context: context)
            let module = try await store.modules.named(form["module"] ?? "contacts")
            let ids = form.all("ids").compactMap { Int64($0) }
            return try await self.form(module: module, existing: nil, values: ["send": "now", "recipients": ids.isEmpty ? "" : "records"],
                                       recordIDs: ids, problems: [], context: context)
        }
        app.post("/mass-emails") { request, context in
            let form = try await FormData.read(request, context: context)
            let module = try await store.modules.named(form["module"] ?? "contacts")
            let recordIDs = MassEmailPages.recordIDs(form)
            var values = form.dictionary
            if form["check_spam"] != nil {
                return try await self.form(module: module, existing: nil, values: values, recordIDs: recordIDs, problems: [],
                                           spam: try await spamCheck(form, module: module, recordIDs: recordIDs, context: context),
                                           context: context)
            }
            if let redraw = MassEmailPages.redraw(form) {
                return try await self.form(module: module, existing: nil, values: redraw.values, recordIDs: recordIDs,
                                           problems: [], actionRows: redraw.actionRows, context: context)
            }
            do {
                if let name = form["new_template_name"], !name.trimmedWhitespace.isEmpty {
                    // "Create one right there": the template is saved first (checked like any
                    // other), then chosen.
                    do {
                        let template = try await delivery.templates.create(
                            in: module, .init(name: name, subject: form["new_template_subject"] ?? "", html: form["new_template_html"] ?? "",
                                              text: nil), by: try context.user())
                        values["template_id"] = String(template.id)
                    } catch let error as HeraldError {
                        throw HeraldError(error.kind, error.message, problems: ViewPages.problems(error).map {
                            Problem(field: "new_template" + ($0.field.isEmpty ? "" : ".\($0.field)"), reason: $0.reason)
                        })
                    }
                }
                let zone = TimeZone(identifier: try context.user().timeZone) ?? .gmt
                let (module, draft) = try await MassEmailInput.parse(try MassEmailPages.formJSON(values, module: module.apiName, zone: zone),
                                                                    store: store, delivery: delivery, scope: try context.user().scope)
                let created = try await delivery.massEmails.create(draft, in: module, by: try context.user())
                return Response.redirect(to: "/mass-emails/\(created.id)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict || error.kind == .notFound {
                return try await self.form(module: module, existing: nil, values: values, recordIDs: recordIDs,
                                           problems: ViewPages.problems(error), context: context)
            }
        }
        app.get("/mass-emails/:id") { request, context in
            try await detail(try await fetch(context), after: (request.uri.queryParameters["after"].flatMap { Int64($0) }) ?? 0, context: context)
        }
        app.get("/mass-emails/:id/edit") { _, context in
            let m = try await fetch(context)
            let module = try await store.modules.named(m.module)
            let zone = TimeZone(identifier: try context.user().timeZone) ?? .gmt
            return try await form(module: module, existing: m, values: MassEmailPages.values(of: m, zone: zone), recordIDs: MassEmailPages.ids(m),
                                  problems: [], context: context)
        }
        app.post("/mass-emails/:id") { request, context in
            let m = try await fetch(context)
            let module = try await store.modules.named(m.module)
            let form = try await FormData.read(request, context: context)
            if form["check_spam"] != nil {
                let recordIDs = MassEmailPages.recordIDs(form)
                return try await self.form(module: module, existing: m, values: form.dictionary, recordIDs: recordIDs, problems: [],
                                           spam: try await spamCheck(form, module: module, recordIDs: recordIDs, context: context),
                                           context: context)
            }
            if let redraw = MassEmailPages.redraw(form) {
                return try await self.form(module: module, existing: m, values: redraw.values, recordIDs: MassEmailPages.recordIDs(form),
                                           problems: [], actionRows: redraw.actionRows, context: context)
            }
            do {
                let zone = TimeZone(identifier: try context.user().timeZone) ?? .gmt
                let (_, draft) = try await MassEmailInput.parse(try MassEmailPages.formJSON(form.dictionary, module: m.module, zone: zone),
                                                                store: store, delivery: delivery, module: m.module,
                                                                scope: try context.user().scope)
                _ = try await delivery.massEmails.update(m.id, with: draft, in: module, by: try context.user())
                return Response.redirect(to: "/mass-emails/\(m.id)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict || error.kind == .notFound {
                return try await self.form(module: module, existing: m, values: form.dictionary, recordIDs: MassEmailPages.recordIDs(form),
                                           problems: ViewPages.problems(error), context: context)
            }
        }
        app.post("/mass-emails/:id/stop") { _, context in
            let m = try await delivery.massEmails.stop(try MassEmailsAPI.id(context), by: try context.user())
            // A sent mass email stays sent when its follow-ups are stopped.
            return Response.redirect(to: m.status == .sent ? "/mass-emails/\(m.id)" : "/mass-emails?tab=stopped", type: .found)
        }
        app.post("/mass-emails/:id/ab-winner") { request, context in
            let id = try MassEmailsAPI.id(context)
            let form = try await FormData.read(request, context: context)
            let m = try await delivery.massEmails.pickWinner(id, variant: try ABTestInput.variant(form["variant"]), by: try context.user())
            return Response.redirect(to: "/mass-emails/\(m.id)#ab-test", type: .found)
        }
        app.post("/mass-emails/:id/follow-ups/:step/stop") { _, context in
            let m = try await delivery.massEmails.stopFollowUp(try MassEmailsAPI.id(context), step: MassEmailsAPI.step(context),
                                                              by: try context.user())
            return Response.redirect(to: "/mass-emails/\(m.id)#follow-ups", type: .found)
        }
        app.post("/mass-emails/:id/follow-ups/:step/resume") { _, context in
            let m = try await delivery.massEmails.resumeFollowUp(try MassEmailsAPI.id(context), step: MassEmailsAPI.step(context),
                                                                by: try context.user())
            return Response.redirect(to: "/mass-emails/\(m.id)#follow-ups", type: .found)
        }
        app.post("/mass-emails/:id/pause") { _, context in
            let m = try await delivery.massEmails.pause(try MassEmailsAPI.id(context), by: try context.user())
            return Response.redirect(to: "/mass-emails/\(m.id)", type: .found)
        }
        app.post("/mass-emails/:id/resume") { _, context in
            let m = try await delivery.massEmails.resume(try MassEmailsAPI.id(context), by: try context.user())
            return Response.redirect(to: "/mass-emails/\(m.id)", type: .found)
        }
        app.post("/mass-emails/:id/delete") { _, context in
            try await delivery.massEmails.delete(try MassEmailsAPI.id(context), by: try context.user())
            return Response.redirect(to: "/mass-emails?tab=drafts", type: .found)
        }
    }

    func fetch(_ context: AppRequestContext) async throws -> MassEmail {
        try await MassEmailsAPI(store: store, delivery: delivery).fetch(context)
    }

    // MARK: Summary

    func summary(tab: String?, context: AppRequestContext) async throws -> Response {
        let user = try context.user()
        let owner = user.role == .admin ? nil : user.id
        let counts = try await store.massEmails.countsByStatus(owner: owner)
        let current = Self.tabs.first { $0.key == tab } ?? Self.tabs.first { !($0.statuses.reduce(0) { $0 + (counts[$1] ?? 0) } == 0) } ?? Self.tabs[0]
        let massEmails = try await store.massEmails.all(statuses: current.statuses, owner: owner)
        let figures = try await store.massEmails.figures(massEmails.map(\.id))
        let followUps = try await FollowUpReport.load(massEmails, store: store)
        let users = Dictionary(try await store.users.all().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let modules = try await store.modules.all()
        let zone = TimeZone(identifier: user.timeZone) ?? .gmt
        // Each A/B test's variants side by side: "A/B by clicks: A 2.0 % · B 6.0 % ★".
        var abLines: [Int64: String] = [:]
        for m in massEmails {
            guard let test = m.abTest else { continue }
            let results = try await store.abTests.results(m.id, variants: test.variants.count)
            abLines[m.id] = "A/B by \(test.measure.label): " + results.map {
                "\(ABTest.letter($0.variant)) \($0.percent(test.measure))" + (m.abDecision?.winner == $0.variant ? " ★" : "")
            }.joined(separator: " · ")
        }
        let rows: [[String: Any]] = massEmails.map { m in
            let f = figures[m.id] ?? MassEmailFigures()
            let time = m.finishedAt ?? m.startedAt ?? m.scheduledAt
            return [
                "id": m.id, "name": m.name, "status": m.status.rawValue, "reason": m.statusReason as Any,
                "module": modules.first { $0.apiName == m.module }?.pluralLabel ?? m.module,
                "time": time.map { Self.format($0, zone) } ?? "—",
                "owner": users[m.ownerID] ?? "—",
                "follow_ups": (followUps[m.id] ?? []).map { $0.view(massEmailID: m.id, zone: zone) },
                "ab_line": abLines[m.id] as Any,
            ].merging(Self.columns(f)) { _, new in new }.merging(Self.stopButton(m, followUps: followUps[m.id] ?? [])) { _, new in new }
        }
        let data: [String: Any] = [
            "tabs": Self.tabs.map { t in
                ["key": t.key, "label": t.label, "count": t.statuses.reduce(0) { $0 + (counts[$1] ?? 0) }, "current": t.key == current.key]
            },
            "tab_label": current.label, "rows": rows, "empty": rows.isEmpty, "csrf": context.csrf,
            "zone": user.timeZone,
        ]
        return HTMLResponse(html: pages.render("mass_emails", title: "Mass email", context: context, data: data,
                                               modules: modules, current: "mass-emails")).response
    }

    // MARK: Form

    /// - Parameter actionRows: the follow-up action rows to draw, when not those in `values`
    ///   (a new, still empty row is not among those).
    /// "Check for spam" on the form: the chosen template from the chosen sender, for the record
    /// that saving would check with (``SpamCheck/sampleRecord(in:recordIDs:scope:)``), scored by
    /// SpamAssassin; the outcome or what stopped it, for the form to show.
    func spamCheck(_ form: FormData, module: Module, recordIDs: [Int64],
                   context: AppRequestContext) async throws -> Result<SpamCheck.Outcome, HeraldError> {
        guard let templateID = form["template_id"].flatMap({ Int64($0) }),
              let template = try? await store.templates.find(templateID), template.module == module.apiName else {
            return .failure(HeraldError.invalid(field: "template_id", "choose a template to check"))
        }
        let user = try context.user()
        // The record the refusal on saving would check with.
        let record = try await delivery.spam.sampleRecord(in: module, recordIDs: form["recipients"] == "records" ? recordIDs : [],
                                                          scope: user.scope)
        do {
            return .success(try await MailTesting(store: store, delivery: delivery).spamCheck(
                subject: template.subject, html: template.html, text: template.hasOwnText ? template.text : nil, module: module,
                recordID: record?.id, senderID: form["sender_id"].flatMap { Int64($0) }, user: user))
        } catch let error as HeraldError where [.invalid, .upstream, .tooManyRequests].contains(error.kind) {
            return .failure(error)
        }
    }

    func form(module: Module, existing: MassEmail?, values: [String: String], recordIDs: [Int64], problems: [Problem],
              actionRows: [[String: String]]? = nil, spam: Result<SpamCheck.Outcome, HeraldError>? = nil,
              context: AppRequestContext) async throws -> Response {
        let user = try context.user()
        let modules = try await store.modules.all()
        let sendable = modules.filter { RecipientAddressSource.of($0, among: modules) != nil }
        let views = try await store.views.all(in: module)
        let lists = try await store.lists.all(in: module)
        let templates = try await store.templates.all(in: module)
        let senders = try await store.senders.all()
        let selected = values["recipients"] ?? ""
        var recipientOptions: [[String: Any]] = []
        if !recordIDs.isEmpty {
            recipientOptions.append(["value": "records", "label": "The \(recordIDs.count) selected \(recordIDs.count == 1 ? module.singularLabel : module.pluralLabel)",
                                     "selected": selected == "records" || selected.isEmpty])
        }
        recipientOptions += views.map { ["value": "view:\($0.id)", "label": "View: \($0.name)", "selected": selected == "view:\($0.id)"] }
        recipientOptions += lists.map { ["value": "list:\($0.id)", "label": "List: \($0.name) (\($0.memberCount))", "selected": selected == "list:\($0.id)"] }
        let send = values["send"] ?? "now"
        let zoneName = values["time_zone"].flatMap { $0.isEmpty ? nil : $0 } ?? user.timeZone
        let errors = Dictionary(grouping: problems, by: { $0.field.split(separator: ".").first.map(String.init) ?? "" })
            .mapValues { $0.map(\.reason).joined(separator: "; ") }
        let abError = problems.filter { $0.field.hasPrefix("ab_test") }.map { "\(ABTestForm.label($0.field)): \($0.reason)" }.joined(separator: "; ")
        let title = existing.map { "Edit \($0.name)" } ?? "New mass email to \(module.pluralLabel)"
        let users = try await store.users.all().filter(\.isActive)
        let rows = actionRows ?? TriggerActionForm.rows(values, adding: false)
        let actionProblems = RowProblem.under("trigger_actions", noun: "Action", in: problems).map(\.text)
        let followUps = FollowUpForm.rows(values)
        let followUpProblems = RowProblem.under("follow_ups", noun: "Follow-up", in: problems, words: FollowUpForm.words)
        let authentication = try await delivery.domains.authentication(of: senders.map(\.email))
        let selectedSender = senders.first { values["sender_id"] == String($0.id) } ?? senders.first
        var data: [String: Any] = [
            "title": title, "csrf": context.csrf,
            "action": existing.map { "/mass-emails/\($0.id)" } ?? "/mass-emails",
            "module": ["api_name": module.apiName, "label": module.pluralLabel, "singular": module.singularLabel],
            "can_change_module": existing == nil && recordIDs.isEmpty && sendable.count > 1,
            "modules": existing == nil ? sendable.map { ["api_name": $0.apiName, "label": $0.pluralLabel, "selected": $0.apiName == module.apiName] } : [],
            "name": values["name"] ?? "",
            "recipient_options": recipientOptions, "no_recipients": recipientOptions.isEmpty,
            "record_ids": recordIDs.map(String.init).joined(separator: ","),
            "templates": templates.map { ["id": $0.id, "name": $0.name, "selected": values["template_id"] == String($0.id)] },
            "no_templates": templates.isEmpty,
            "senders": senders.map {
                ["id": $0.id, "label": $0.name.isEmpty ? $0.email : "\($0.name) <\($0.email)>", "selected": values["sender_id"] == String($0.id),
                 "warning": authentication[$0.email]?.warning ?? ""]
            },
            // The chosen sender's warning, drawn on the server; the page's script follows the select.
            "sender_warning": selectedSender.flatMap { authentication[$0.email]?.warning } as Any,
            "no_senders": senders.isEmpty, "is_admin": user.role == .admin,
            "send_now": send == "now", "send_later": send == "later", "send_draft": send == "draft", "send_local": send == "local_time",
            "local_date": values["local_date"] ?? LocalDate(Date().addingTimeInterval(86_400), in: TimeZone(identifier: zoneName) ?? .gmt).description,
            "local_time": values["local_time"] ?? "09:00",
            "if_passed": LocalDelivery.IfPassed.allCases.map {
                ["value": $0.rawValue, "label": "Where it has passed already: \($0.label)", "selected": values["if_passed"] == $0.rawValue]
            },
            "zone_source": RecipientZoneFields(module, source: RecipientAddressSource.of(module, among: modules)).summary,
            "date": values["date"] ?? LocalDate(Date().addingTimeInterval(86_400), in: TimeZone(identifier: zoneName) ?? .gmt).description,
            "time": values["time"] ?? "09:00",
            "zones": MassEmailPages.zoneNames(including: zoneName).map { ["name": $0, "selected": $0 == zoneName] },
            "has_errors": !problems.isEmpty,
            "problems": problems.map { ["field": $0.field, "reason": $0.reason] },
            "name_error": errors["name"] as Any, "recipients_error": errors["recipients"] as Any,
            "template_error": errors["template_id"] as Any, "sender_error": errors["sender_id"] as Any,
            "schedule_error": errors["schedule"] as Any,
            "ab": ABTestForm.view(values, templates: templates),
            "ab_error": abError.isEmpty ? nil as String? as Any : abError,
            "new_template_link": "/templates/new?module=\(module.apiName)",
            "trigger_rows": TriggerActionForm.view(rows, module: module, users: users.map { ($0.id, $0.name) }),
            "has_trigger_rows": !rows.isEmpty, "can_add_action": rows.count < TriggerAction.maxCount,
            "action_summary": Self.summaries(rows, module: module, users: users, zone: TimeZone(identifier: zoneName) ?? .gmt),
            "machines_checked": values["include_machine_events"] == "on",
            "action_errors": actionProblems, "has_action_errors": !actionProblems.isEmpty,
            "follow_up_rows": FollowUpForm.view(followUps, module: module, templates: templates, problems: followUpProblems),
            "has_follow_up_rows": !followUps.isEmpty, "can_add_follow_up": followUps.count < FollowUp.maxCount,
            "follow_up_summary": FollowUpForm.summaries(followUps, module: module, templates: templates),
            "follow_up_errors": followUpProblems.filter { $0.row == nil }.map(\.text),
            "has_follow_up_errors": followUpProblems.contains { $0.row == nil },
        ]
        switch spam {
        case .success(let outcome)?: data["spam"] = Present.spamPanel(outcome)
        case .failure(let error)?: data["spam_error"] = error.message
        case nil: break
        }
        let html = pages.render("mass_email_form", title: title, context: context, data: data, modules: modules, current: "mass-emails")
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    /// The form's fields as the API's JSON.
    static func formJSON(_ form: [String: String], module: String, zone: TimeZone) throws -> JSONValue {
        var object: [String: JSONValue] = ["name": .string(form["name"] ?? ""), "module": .string(module)]
        if let t = form["template_id"], let id = Int64(t) { object["template_id"] = .number(Double(id)) }
        if let s = form["sender_id"], let id = Int64(s) { object["sender_id"] = .number(Double(id)) }
        let choice = form["recipients"] ?? ""
        if choice == "records" {
            object["recipients"] = .object(["record_ids": .array(recordIDs(form["record_ids"]).map { .number(Double($0)) })])
        } else if choice.hasPrefix("view:"), let id = Int64(choice.dropFirst(5)) {
            object["recipients"] = .object(["view_id": .number(Double(id))])
        } else if choice.hasPrefix("list:"), let id = Int64(choice.dropFirst(5)) {
            object["recipients"] = .object(["list_id": .number(Double(id))])
        }
        var schedule: [String: JSONValue] = ["send": .string(form["send"] ?? "now")]
        if form["send"] == "later" {
            schedule["date"] = .string(form["date"] ?? "")
            schedule["time"] = .string(form["time"] ?? "")
            schedule["time_zone"] = .string(form["time_zone"] ?? "")
        } else if form["send"] == "local_time" {
            schedule["date"] = .string(form["local_date"] ?? "")
            schedule["time"] = .string(form["local_time"] ?? "")
            schedule["if_passed"] = .string(form["if_passed"] ?? "")
        }
        object["schedule"] = .object(schedule)
        object["trigger_actions"] = TriggerActionForm.json(TriggerActionForm.rows(form, adding: false), zone: zone)
        object["include_machine_events"] = .bool(form["include_machine_events"] == "on")
        object["follow_ups"] = FollowUpForm.json(FollowUpForm.rows(form))
        if let test = ABTestForm.json(form) { object["ab_test"] = test }
        return .object(object)
    }

    /// The form to show again when it was posted by one of its sections' buttons ("Trigger an
    /// action", "Add follow up", a row's "Remove", …) rather than "Save": its values with the
    /// change made, and the action rows when they changed; nil when it is to be saved.
    static func redraw(_ form: FormData) -> (values: [String: String], actionRows: [[String: String]]?)? {
        let values = form.dictionary
        var actionRows: [[String: String]]?
        if form["add_action"] != nil { actionRows = TriggerActionForm.rows(values, adding: true) }
        if let removed = form["remove_action"].flatMap({ Int($0) }) { actionRows = TriggerActionForm.rows(values, adding: false, removing: removed) }
        if form["refresh_actions"] != nil { actionRows = TriggerActionForm.rows(values, adding: false) }
        if let actionRows { return (replacingRows(values, actionRows), actionRows) }
        if let change = FollowUpForm.change(values) { return (FollowUpForm.replacing(values, with: FollowUpForm.rows(values, change: change)), nil) }
        return nil
    }

    /// The form's values with its action rows replaced by `rows`.
    static func replacingRows(_ values: [String: String], _ rows: [[String: String]]) -> [String: String] {
        values.filter { !($0.key.hasPrefix("ta") && $0.key.dropFirst(2).first?.isNumber == true) }.merging(TriggerActionForm.flatten(rows)) { _, new in new }
    }

    /// Each complete action row in words; rows that do not read as an action yet are left out.
    static func summaries(_ rows: [[String: String]], module: Module, users: [User], zone: TimeZone) -> [String] {
        let names = Dictionary(users.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return TriggerActionForm.json(rows, zone: zone).arrayValue!.compactMap { item in
            guard var r = try? JSONObjectReader(item), let action = TriggerActionInput.parse(one: &r), r.allProblems.isEmpty else { return nil }
            return action.summary(in: module, userName: { names[$0] ?? "user \($0)" })
        }
    }

    static func recordIDs(_ form: FormData) -> [Int64] { recordIDs(form["record_ids"]) }

    /// The zones to choose from: UTC first, then every named zone, and the given one if it is
    /// not among them.
    static func zoneNames(including zone: String) -> [String] {
        var names = ["UTC"] + TimeZoneNames.all.filter { $0 != "UTC" }
        if !names.contains(zone) { names.insert(zone, at: 1) }
        return names
    }

    static func recordIDs(_ text: String?) -> [Int64] {
        (text ?? "").split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    static func ids(_ m: MassEmail) -> [Int64] {
        if case .records(let ids) = m.recipients { return ids }
        return []
    }

    static func values(of m: MassEmail, zone: TimeZone) -> [String: String] {
        var values = ["name": m.name, "template_id": String(m.templateID), "sender_id": String(m.senderID)]
        values.merge(TriggerActionForm.flatten(TriggerActionForm.rows(of: m.triggerActions, zone: zone))) { _, new in new }
        if m.triggersOnMachineEvents { values["include_machine_events"] = "on" }
        values.merge(FollowUpForm.flatten(FollowUpForm.rows(of: m.followUps))) { _, new in new }
        values.merge(ABTestForm.values(m.abTest)) { _, new in new }
        switch m.recipients {
        case .view(let id): values["recipients"] = "view:\(id)"
        case .list(let id): values["recipients"] = "list:\(id)"
        case .records: values["recipients"] = "records"
        }
        if let local = m.localDelivery, m.status == .scheduled {
            values["send"] = "local_time"
            values["local_date"] = local.date.description
            values["local_time"] = local.timeText
            values["if_passed"] = local.ifPassed.rawValue
        } else if let at = m.scheduledAt, m.status == .scheduled, let zone = TimeZone(identifier: m.timeZone) {
            let date = Date(timeIntervalSince1970: TimeInterval(at))
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let parts = calendar.dateComponents([.hour, .minute], from: date)
            values["send"] = "later"
            values["date"] = LocalDate(date, in: zone).description
            values["time"] = String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
            values["time_zone"] = m.timeZone
        } else {
            values["send"] = "draft"
        }
        return values
    }

    // MARK: Detail

    /// The A/B test's variants side by side, the winner marked, and a button per variant to
    /// send it to the rest while no winner is chosen.
    func abTestView(_ m: MassEmail, held: Int, zone: TimeZone, csrf: String) async throws -> [String: Any]? {
        guard let test = m.abTest else { return nil }
        let results = try await store.abTests.results(m.id, variants: test.variants.count)
        let canPick = m.abDecision == nil && m.resolvedAt != nil && (m.status == .sending || m.status == .paused)
        var variants: [[String: Any]] = []
        for (i, variant) in test.variants.enumerated() {
            let template = try? await store.templates.find(variant.templateID ?? m.templateID)
            let r = results.first { $0.variant == i } ?? ABVariantResult(variant: i, sent: 0)
            variants.append([
                "letter": ABTest.letter(i), "template": template?.name ?? "(deleted template)", "subject": variant.subject ?? template?.subject ?? "",
                "sent": r.sent, "opened": r.opened, "clicked": r.clicked, "replied": r.replied,
                "rate": r.percent(test.measure), "winner": m.abDecision?.winner == i, "can_pick": canPick,
            ])
        }
        let state: String = if let d = m.abDecision {
            "Variant \(ABTest.letter(d.winner)) won \(Self.format(d.at, zone)): \(d.note)."
        } else if let at = m.abDecideAt {
            "The winner is chosen \(Self.format(at, zone)) by people's \(test.measure.label) per message; \(held) recipients wait for it."
        } else {
            "\(test.testPercent) % of the recipients, split evenly, get the variants when sending starts; the winner, by people's "
                + "\(test.measure.label), goes to the rest \(test.wait.text) later."
        }
        return ["variants": variants, "state": state, "measure": test.measure.label, "csrf": csrf, "id": m.id, "can_pick": canPick]
    }

    func detail(_ m: MassEmail, after: Int64, context: AppRequestContext) async throws -> Response {
        let user = try context.user()
        let zone = TimeZone(identifier: user.timeZone) ?? .gmt
        let f = try await store.massEmails.figures([m.id])[m.id] ?? MassEmailFigures()
        let complaintThreshold = try await store.settings.complaintThreshold()
        let complaintRate: String = f.complaintRate.map(ComplaintRule.format) ?? ""
        let complaintsOver: Bool = (f.complaintRate ?? 0) > complaintThreshold
        let rows = try await store.messages.page(massEmail: m.id, after: after, limit: 100)
        let modules = try await store.modules.all()
        let template = try? await store.templates.find(m.templateID)
        let sender = try? await store.senders.find(m.senderID)
        let skipped = SkipReason.allCases.compactMap { reason -> [String: Any]? in
            guard let n = m.skipped[reason], n > 0 else { return nil }
            return ["label": reason.label, "count": n]
        }
        let recipientsText: String = switch m.recipients {
        case .view(let id): (try? await store.views.find(id, in: try await store.modules.named(m.module))).map { "View: \($0.name)" } ?? "View \(id)"
        case .list(let id): (try? await store.lists.find(id, in: try await store.modules.named(m.module))).map { "List: \($0.name)" } ?? "List \(id)"
        case .records(let ids): "\(ids.count) selected records"
        }
        let chart = EngagementChart(hourly: try await store.engagement.hourly(massEmail: m.id))
        let progress = f.recipients == 0 ? 0 : Int((Double(f.processed) / Double(f.recipients) * 100).rounded(.down))
        let names = Dictionary(try await store.users.all().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let runs = try await store.triggerRuns.counts(massEmailID: m.id)
        let module = try await store.modules.named(m.module)
        let followUps = try await FollowUpReport.load([m], store: store)[m.id] ?? []
        let sending = m.status == .sending || followUps.contains { $0.status == .sending }
        let waiting = sending ? try await DeliveryWait.load(store)?.text { Self.format($0, zone) } : nil
        let (planned, expected) = try await delivery.scheduler.plannedSends(m)
        let abTest = try await abTestView(m, held: f[.held], zone: zone, csrf: context.csrf)
        let actions: [[String: Any]] = m.triggerActions.enumerated().map { i, action in
            ["summary": action.summary(in: module, userName: { names[$0] ?? "user \($0)" }), "runs": runs[i] ?? 0]
        }
        let data: [String: Any] = [
            "id": m.id, "name": m.name, "status": m.status.rawValue, "reason": m.statusReason as Any, "csrf": context.csrf,
            "module": modules.first { $0.apiName == m.module }?.pluralLabel ?? m.module, "module_api": m.module,
            "recipients_text": recipientsText,
            "template": template?.name ?? "(deleted template)", "template_id": m.templateID,
            "sender": sender.map { "\($0.name) <\($0.email)>" } ?? "(deleted sender)",
            "scheduled": m.localDelivery == nil ? m.scheduledAt.map { Self.format($0, TimeZone(identifier: m.timeZone) ?? zone) + " (\(m.timeZone))" } as Any
                : nil as String? as Any,
            "local_delivery": m.localDelivery.map { local in
                "\(local.timeText) on \(local.date) in each recipient's time zone (from \(RecipientZoneFields(module, source: RecipientAddressSource.of(module, among: modules)).summary)); "
                    + "where that time had passed when it was saved: \(local.ifPassed.label)"
                    + (m.resolvedAt == nil ? ". Starts \(Self.format(m.scheduledAt ?? local.savedAt, zone)), when the time comes in the first zone" : "")
            } as Any,
            "planned_sends": planned.map { ["at": Self.format($0.at, zone), "utc": ISODateTime.format(epochSeconds: $0.at),
                                            "messages": $0.messages, "waiting": $0.waiting] },
            "has_planned_sends": !planned.isEmpty, "planned_expected": expected,
            "ab_test": abTest as Any,
            "started": m.startedAt.map { Self.format($0, zone) } as Any,
            "finished": m.finishedAt.map { Self.format($0, zone) } as Any,
            "resolving": m.status == .sending && m.resolvedAt == nil,
            "waiting": waiting as Any,
            "figures": [
                "recipients": f.recipients, "queued": f[.queued], "sending": f[.sending], "sent": f[.sent], "deferred": f[.deferred],
                "uncertain": Self.ifAny(f[.uncertain]), "failed": f[.failed], "bounced": f[.bounced],
            ],
            "engagement": [
                "opened": f.opened, "open_rate": Self.rate(f.opened, of: f[.sent]), "machine_opened": f.machineOpened,
                "clicked": f.clicked, "click_rate": Self.rate(f.clicked, of: f[.sent]), "machine_clicked": f.machineClicked,
                "click_to_open": Self.rate(f.clicked, of: f.opened),
                "unsubscribed": f.unsubscribed, "unsubscribe_rate": Self.rate(f.unsubscribed, of: f[.sent]),
                "soft_bounced": f.softBounced, "soft_bounce_rate": Self.rate(f.softBounced, of: f.processed),
                "replied": f.replied, "reply_rate": Self.rate(f.replied, of: f[.sent]),
                "bounced": f[.bounced], "bounce_rate": Self.rate(f[.bounced], of: f.processed),
                "complained": f.complained, "complaint_rate": complaintRate,
                "complaints_over": complaintsOver, "complaint_threshold": ComplaintRule.format(complaintThreshold),
            ] as [String: Any],
            "refusals": BouncePages.refusals(f) as [[String: Any]], "refused": f.refused as Int,
            "chart": chart.isEmpty ? nil as String? as Any : chart.svg(zone: zone),
            "chart_rows": chart.rows(zone: zone),
            "progress": progress,
            "actions": actions, "has_actions": !actions.isEmpty, "machines": m.triggersOnMachineEvents,
            "follow_ups": followUps.map { $0.view(massEmailID: m.id, zone: zone) }, "has_follow_ups": !followUps.isEmpty,
            "skipped": skipped, "has_skipped": !skipped.isEmpty,
            "rows": rows.map { r in
                [
                    "address": r.address, "status": r.status.rawValue, "step": r.step == 0 ? "Mass email" : "Follow-up \(r.step)", "record_link": "/m/\(m.module)/\(r.recordID)",
                    "attempts": r.attempts,
                    "reply": [r.code.map(String.init), r.enhancedCode, r.text].compactMap { $0 }.joined(separator: " "),
                    "when": (r.sentAt ?? (r.status == .deferred || r.status == .uncertain ? r.nextAttemptAt : nil)).map { Self.format($0, zone) } ?? "",
                    "opened": r.openedAt.map { "\(Self.format($0, zone)) ×\(r.opens)" } ?? "",
                    "clicked": r.clickedAt.map { "\(Self.format($0, zone)) ×\(r.clicks)" } ?? "",
                    "machines": r.machineOpens + r.machineClicks > 0
                        ? "\(r.machineOpens) opens, \(r.machineClicks) clicks by machines" : "",
                    "unsubscribed": r.unsubscribedAt.map { Self.format($0, zone) } ?? "",
                ] as [String: Any]
            },
            "next": rows.count == 100 ? "/mass-emails/\(m.id)?after=\(rows.last!.id)" : nil as String? as Any,
            "editable": m.status.isEditable,
            "pausable": m.status == .sending, "resumable": m.status == .paused, "deletable": m.status == .draft,
        ].merging(Self.stopButton(m, followUps: followUps)) { _, new in new }
        // While it or a follow-up sends, the page refreshes itself (without JavaScript too).
        let refresh = m.status == .sending || m.status == .scheduled || followUps.contains { $0.status == .sending } ? 3 : nil
        return HTMLResponse(html: pages.render("mass_email", title: m.name, context: context, data: data, modules: modules,
                                               current: "mass-emails", refresh: refresh)).response
    }

    /// A summary row's figures: counts and rates, the same for a mass email and a follow-up.
    static func columns(_ f: MassEmailFigures) -> [String: Any] {
        [
            "recipients": f.recipients, "sent": f[.sent], "delivered": f[.sent],
            "bounced": f[.bounced], "bounce_rate": rate(f[.bounced], of: f.processed),
            "delivered_rate": rate(f[.sent], of: f.processed),
            "opened": f.opened, "open_rate": rate(f.opened, of: f[.sent]), "machine_opened": ifAny(f.machineOpened),
            "clicked": f.clicked, "click_rate": rate(f.clicked, of: f[.sent]), "machine_clicked": ifAny(f.machineClicked),
            "unsubscribed": f.unsubscribed, "unsubscribe_rate": rate(f.unsubscribed, of: f[.sent]),
            "soft_bounced": ifAny(f.softBounced), "replied": f.replied, "reply_rate": rate(f.replied, of: f[.sent]),
            "refused": ifAny(f.refused), "complained": f.complained, "complaint_rate": f.complaintRate.map(ComplaintRule.format) ?? "",
        ]
    }

    /// Whether Stop shows, and what it stops: the mass email with its follow-ups, or (once it
    /// is sent) the follow-ups not sent yet.
    static func stopButton(_ m: MassEmail, followUps: [FollowUpReport]) -> [String: Any] {
        if m.status.isStoppable {
            return ["stoppable": true, "stop_label": "Stop",
                    "stop_confirm": followUps.isEmpty ? "Messages not yet sent will not be sent." : "Messages not yet sent and its follow-ups will not be sent."]
        }
        if m.status == .sent, followUps.contains(where: \.stoppable) {
            return ["stoppable": true, "stop_label": "Stop follow-ups", "stop_confirm": "Follow-ups not yet sent will not be sent."]
        }
        return ["stoppable": false]
    }

    static func format(_ epoch: Int64, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = zone
        formatter.dateFormat = "d MMM yyyy, HH:mm"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(epoch)))
    }

    /// The count, or nothing when it is 0: Mustache shows a section for any number, 0 included.
    static func ifAny(_ n: Int) -> Any { n > 0 ? n : nil as Int? as Any }

    static func rate(_ n: Int, of total: Int) -> String {
        total == 0 ? "—" : String(format: "%.1f%%", Double(n) / Double(total) * 100)
    }
}
