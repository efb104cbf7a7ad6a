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

    /// Where a Stop leads: back to the summary when it was pressed there, to the tab that now
    /// lists the mass email (a sent one stays sent when its follow-ups stop); else to the mass
    /// email's own page, as Pause and Resume do.
    static func afterStop(_ m: MassEmail, fromSummary: Bool, followUp: Bool = false) -> String {
        guard fromSummary else { return "/mass-emails/\(m.id)" + (followUp ? "#follow-ups" : "") }
        return "/mass-emails?tab=" + (tabs.first { $0.statuses.contains(m.status) }?.key ?? "sent")
    }

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
                        // Saved and chosen: should the form come back, it is not offered again.
                        for key in ["new_template_name", "new_template_subject", "new_template_html"] { values[key] = nil }
                    } catch let error as HeraldError {
                        throw HeraldError(error.kind, error.message, problems: error.pageProblems.map {
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
                                           problems: error.pageProblems, context: context)
            }
        }
        app.get("/mass-emails/:id") { request, context in
            try await detail(try await fetch(context), after: (request.uri.queryParameters["after"].flatMap { Int64($0) }) ?? 0, context: context)
        }
        app.get("/mass-emails/:id/edit") { _, context in
            let m = try await fetch(context)
            // Only a draft or a scheduled one is edited; the others' page has no Edit.
            guard m.status.isEditable else { return Response.redirect(to: "/mass-emails/\(m.id)", type: .found) }
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
                                           problems: error.pageProblems, context: context)
            }
        }
        app.post("/mass-emails/:id/stop") { request, context in
            let form = try await FormData.read(request, context: context)
            let m = try await delivery.massEmails.stop(try MassEmailsAPI.id(context), by: try context.user())
            return Response.redirect(to: MassEmailPages.afterStop(m, fromSummary: form["from"] == "summary"), type: .found)
        }
        app.post("/mass-emails/:id/ab-winner") { request, context in
            let id = try MassEmailsAPI.id(context)
            let form = try await FormData.read(request, context: context)
            let m = try await delivery.massEmails.pickWinner(id, variant: try ABTestInput.variant(form["variant"]), by: try context.user())
            return Response.redirect(to: "/mass-emails/\(m.id)#ab-test", type: .found)
        }
        app.post("/mass-emails/:id/follow-ups/:step/stop") { request, context in
            let form = try await FormData.read(request, context: context)
            let m = try await delivery.massEmails.stopFollowUp(try MassEmailsAPI.id(context), step: MassEmailsAPI.step(context),
                                                              by: try context.user())
            return Response.redirect(to: MassEmailPages.afterStop(m, fromSummary: form["from"] == "summary", followUp: true), type: .found)
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
        let local = LocalTime(zoneNamed: user.timeZone)
        // Each A/B test's variants side by side: "A/B by clicks: A 2.0% · B 6.0% ★".
        var abLines: [Int64: String] = [:]
        for m in massEmails {
            guard let test = m.abTest else { continue }
            let results = try await store.abTests.results(m.id, variants: test.variants.count)
            abLines[m.id] = "A/B by \(test.measure.label): " + results.map {
                "\(ABTest.letter($0.variant)) \($0.percent(test.measure))" + (m.abDecision?.winner == $0.variant ? " ★" : "")
            }.joined(separator: " · ")
        }
        let rows = massEmails.map { m in
            let time = m.finishedAt ?? m.startedAt ?? m.scheduledAt
            return SummaryRow(
                id: m.id, name: m.name, status: m.status.rawValue, reason: m.statusReason,
                module: modules.first { $0.apiName == m.module }?.pluralLabel ?? m.module,
                time: time.map(local.readable) ?? "—", owner: users[m.ownerID] ?? "—",
                followUps: (followUps[m.id] ?? []).map { $0.row(massEmailID: m.id, local: local) }, abLine: abLines[m.id],
                figures: FigureColumns(figures[m.id] ?? MassEmailFigures()), stop: StopButton(m, followUps: followUps[m.id] ?? []))
        }
        let model = Summary(
            tabs: Self.tabs.map { t in
                Summary.Tab(key: t.key, label: t.label, count: t.statuses.reduce(0) { $0 + (counts[$1] ?? 0) }, current: t.key == current.key)
            },
            tabLabel: current.label, rows: rows, empty: rows.isEmpty, zone: user.timeZone)
        return HTMLResponse(html: pages.render("mass_emails", title: "Mass email", context: context, page: model,
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

    func form(module: Module, existing: MassEmail?, values: [String: String], recordIDs: [Int64], problems apiProblems: [Problem],
              actionRows: [[String: String]]? = nil, spam: Result<SpamCheck.Outcome, HeraldError>? = nil,
              context: AppRequestContext) async throws -> Response {
        let problems = apiProblems.map(MassEmailPages.inFormWords)
        let user = try context.user()
        let modules = try await store.modules.all()
        let sendable = modules.filter { RecipientAddressSource.of($0, among: modules) != nil }
        // Reached only by a typed address: the list page offers "Mass email" only where it can go.
        guard sendable.contains(where: { $0.apiName == module.apiName }) else {
            throw HeraldError.invalid(field: "module", RecipientAddressSource.unreachable(module))
        }
        let views = try await store.views.all(in: module)
        let lists = try await store.lists.all(in: module, scope: user.scope)
        let templates = try await store.templates.all(in: module)
        let senders = try await store.senders.all()
        let selected = values["recipients"] ?? ""
        var recipientOptions: [SelectOption] = []
        if !recordIDs.isEmpty {
            recipientOptions.append(SelectOption(value: "records", label: "The \(recordIDs.count) selected \(recordIDs.count == 1 ? module.singularLabel : module.pluralLabel)",
                                                 selected: selected == "records" || selected.isEmpty))
        }
        recipientOptions += views.map { SelectOption(value: "view:\($0.id)", label: "View: \($0.name)", selected: selected == "view:\($0.id)") }
        recipientOptions += lists.map { SelectOption(value: "list:\($0.id)", label: "List: \($0.name) (\($0.memberCount))", selected: selected == "list:\($0.id)") }
        // Last, so that a form whose choice was left alone never goes to everyone.
        recipientOptions.append(SelectOption(value: "all", label: MassEmailPages.allLabel(module, scope: user.scope), selected: selected == "all"))
        let send = values["send"] ?? "now"
        let zoneName = values["time_zone"].flatMap { $0.isEmpty ? nil : $0 } ?? user.timeZone
        let zone = TimeZone(identifier: zoneName) ?? .gmt
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
        let tomorrow = LocalDate(Date().addingTimeInterval(86_400), in: zone).description
        var spamPanel: SpamPanel?, spamError: String?
        switch spam {
        case .success(let outcome)?: spamPanel = SpamPanel(outcome)
        case .failure(let error)?: spamError = error.message
        case nil: break
        }
        let model = Form(
            title: title, action: existing.map { "/mass-emails/\($0.id)" } ?? "/mass-emails", module: ModuleLabels(module),
            canChangeModule: existing == nil && recordIDs.isEmpty && sendable.count > 1,
            modules: existing == nil ? sendable.map { Form.ModuleOption(apiName: $0.apiName, label: $0.pluralLabel, selected: $0.apiName == module.apiName) } : [],
            name: values["name"] ?? "",
            recipientOptions: recipientOptions,
            recordIDs: recordIDs.map(String.init).joined(separator: ","),
            templates: templates.map { Form.Choice(id: $0.id, name: $0.name, selected: values["template_id"] == String($0.id)) },
            noTemplates: templates.isEmpty,
            senders: senders.map {
                Form.SenderOption(id: $0.id, label: $0.name.isEmpty ? $0.email : "\($0.name) <\($0.email)>",
                                  selected: values["sender_id"] == String($0.id), warning: authentication[$0.email]?.warning ?? "")
            },
            // The chosen sender's warning, drawn on the server; the page's script follows the select.
            senderWarning: selectedSender.flatMap { authentication[$0.email]?.warning },
            noSenders: senders.isEmpty, isAdmin: user.role == .admin,
            sendNow: send == "now", sendLater: send == "later", sendDraft: send == "draft", sendLocal: send == "local_time",
            localDate: values["local_date"] ?? tomorrow, localTime: values["local_time"] ?? "09:00",
            ifPassed: LocalDelivery.IfPassed.allCases.map {
                SelectOption(value: $0.rawValue, label: "Where it has passed already: \($0.label)", selected: values["if_passed"] == $0.rawValue)
            },
            zoneSource: RecipientZoneFields(module, source: RecipientAddressSource.of(module, among: modules)).summary,
            date: values["date"] ?? tomorrow, time: values["time"] ?? "09:00",
            zones: MassEmailPages.zoneNames(including: zoneName).map { Form.Zone(name: $0, selected: $0 == zoneName) },
            hasErrors: !problems.isEmpty,
            problems: problems.map { Form.Problem(field: $0.field.isEmpty ? nil : MassEmailPages.formLabel($0.field), reason: $0.reason) },
            nameError: errors["name"], recipientsError: errors["recipients"], templateError: errors["template_id"],
            senderError: errors["sender_id"], scheduleError: errors["schedule"],
            ab: ABTestForm.view(values, templates: templates), abError: abError.isEmpty ? nil : abError,
            newTemplateLink: "/m/\(module.apiName)/templates/new",
            newTemplate: Form.NewTemplate(name: values["new_template_name"] ?? "", subject: values["new_template_subject"] ?? "",
                                          html: values["new_template_html"] ?? "", hasProblems: errors["new_template"] != nil),
            triggerRows: TriggerActionForm.view(rows, module: module, users: users.map { ($0.id, $0.name) }),
            hasTriggerRows: !rows.isEmpty, canAddAction: rows.count < TriggerAction.maxCount,
            actionSummary: Self.summaries(rows, module: module, users: users, zone: zone),
            machinesChecked: values["include_machine_events"] == "on",
            actionErrors: actionProblems, hasActionErrors: !actionProblems.isEmpty,
            followUpRows: FollowUpForm.view(followUps, module: module, templates: templates, problems: followUpProblems),
            hasFollowUpRows: !followUps.isEmpty, canAddFollowUp: followUps.count < FollowUp.maxCount,
            followUpSummary: FollowUpForm.summaries(followUps, module: module, templates: templates),
            followUpErrors: followUpProblems.filter { $0.row == nil }.map(\.text),
            hasFollowUpErrors: followUpProblems.contains { $0.row == nil },
            spam: spamPanel, spamError: spamError)
        let html = pages.render("mass_email_form", title: title, context: context, page: model, modules: modules, current: "mass-emails")
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
        } else if choice == "all" {
            object["recipients"] = .object(["all": .bool(true)])
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

    /// Each action row in words; one not complete yet says what it lacks first ("Action 2: not
    /// complete: subject: is required"), rather than vanishing from the summary.
    static func summaries(_ rows: [[String: String]], module: Module, users: [User], zone: TimeZone) -> [String] {
        let names = Dictionary(users.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return TriggerActionForm.json(rows, zone: zone).arrayValue!.enumerated().map { i, item in
            guard var r = try? JSONObjectReader(item) else { return "Action \(i + 1): not complete" }
            let action = TriggerActionInput.parse(one: &r)
            // Its shape first, then its meaning (a blank subject, a field that is not there).
            let meaning = action.map { TriggerAction.problems([$0], module: module, userIDs: Set(names.keys)) } ?? []
            if let first = r.allProblems.first ?? meaning.first.map({ Problem(field: String($0.field.drop { $0 != "." }.dropFirst()), reason: $0.reason) }) {
                let reason = inFormWords(Problem(field: "trigger_actions[\(i)].\(first.field)", reason: first.reason)).reason
                return "Action \(i + 1): not complete: \(first.field.replacingOccurrences(of: "_", with: " ")): \(reason)"
            }
            guard let action else { return "Action \(i + 1): not complete" }
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

    /// Which message of a mass email a step is: "Mass email" (0), "Follow-up 2".
    static func stepLabel(_ step: Int) -> String {
        step == 0 ? "Mass email" : "Follow-up \(step)"
    }

    /// The recipients choice of every record: "All Contacts", or, for a user who sees only
    /// their own, "All my Contacts".
    static func allLabel(_ module: Module, scope: AccessScope) -> String {
        scope == .all ? "All \(module.pluralLabel)" : "All my \(module.pluralLabel)"
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
        case .all: values["recipients"] = "all"
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
    func abTestView(_ m: MassEmail, held: Int, local: LocalTime) async throws -> Detail.ABTestPanel? {
        guard let test = m.abTest else { return nil }
        let results = try await store.abTests.results(m.id, variants: test.variants.count)
        let canPick = m.abDecision == nil && m.resolvedAt != nil && (m.status == .sending || m.status == .paused)
        var variants: [Detail.ABTestPanel.Variant] = []
        for (i, variant) in test.variants.enumerated() {
            let template = try? await store.templates.find(variant.templateID ?? m.templateID)
            let r = results.first { $0.variant == i } ?? ABVariantResult(variant: i, sent: 0)
            variants.append(Detail.ABTestPanel.Variant(
                letter: ABTest.letter(i), template: template?.name ?? "(deleted template)", subject: variant.subject ?? template?.subject ?? "",
                sent: r.sent, opened: r.opened, clicked: r.clicked, replied: r.replied,
                rate: r.percent(test.measure), winner: m.abDecision?.winner == i, canPick: canPick))
        }
        let state: String = if let d = m.abDecision {
            "Variant \(ABTest.letter(d.winner)) won \(local.readable(d.at)): \(d.note)."
        } else if m.status == .stopped || m.status == .failed {
            "It \(m.status == .stopped ? "was stopped" : "failed") before a winner was chosen"
                + (held > 0 ? ": the \(held.formatted()) recipient\(held == 1 ? "" : "s") waiting for it will not get it." : ".")
        } else if let at = m.abDecideAt {
            "The winner is chosen \(local.readable(at)) by people's \(test.measure.label) per message; \(held.formatted()) recipient\(held == 1 ? "" : "s") wait\(held == 1 ? "s" : "") for it."
        } else {
            "\(test.testPercent)% of the recipients, split evenly, get the variants when sending starts; the winner, by people's "
                + "\(test.measure.label), goes to the rest \(test.wait.text) later."
        }
        return Detail.ABTestPanel(variants: variants, state: state, measure: test.measure.label, id: m.id, canPick: canPick)
    }

    func detail(_ m: MassEmail, after: Int64, context: AppRequestContext) async throws -> Response {
        let user = try context.user()
        let local = LocalTime(zoneNamed: user.timeZone)
        let f = try await store.massEmails.figures([m.id])[m.id] ?? MassEmailFigures()
        let complaintThreshold = try await store.settings.complaintThreshold()
        let rows = try await store.messages.page(massEmail: m.id, after: after, limit: 100)
        let modules = try await store.modules.all()
        let template = try? await store.templates.find(m.templateID)
        let sender = try? await store.senders.find(m.senderID)
        let skipped = SkipReason.allCases.compactMap { reason -> Detail.Skipped? in
            guard let n = m.skipped[reason], n > 0 else { return nil }
            return Detail.Skipped(label: reason.label, count: n)
        }
        let recipientsText: String = switch m.recipients {
        case .view(let id): (try? await store.views.find(id, in: try await store.modules.named(m.module))).map { "View: \($0.name)" } ?? "View \(id)"
        case .list(let id): (try? await store.lists.find(id, in: try await store.modules.named(m.module))).map { "List: \($0.name)" } ?? "List \(id)"
        case .records(let ids): "\(ids.count) selected records"
        case .all: MassEmailPages.allLabel(try await store.modules.named(m.module), scope: try await store.users.find(m.ownerID)?.scope ?? .ownedBy(m.ownerID))
        }
        let chart = EngagementChart(hourly: try await store.engagement.hourly(massEmail: m.id))
        let names = Dictionary(try await store.users.all().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let runs = try await store.triggerRuns.counts(massEmailID: m.id)
        let module = try await store.modules.named(m.module)
        let followUps = try await FollowUpReport.load([m], store: store)[m.id] ?? []
        let sending = m.status == .sending || followUps.contains { $0.status == .sending }
        let waiting = sending ? try await DeliveryWait.load(store)?.text(local.readable) : nil
        let (planned, expected) = try await delivery.scheduler.plannedSends(m)
        let selected = try await delivery.scheduler.selectedRecords(m)
        let selectedLabel = selected == 1 ? module.singularLabel : module.pluralLabel
        // Steps that Stop ended: what of theirs still waits will never go, and is called so.
        let stoppedSteps = Set((m.status == .stopped ? [0] : []) + followUps.filter { $0.status == .stopped }.map(\.step))
        let model = Detail(
            id: m.id, name: m.name, status: m.status.rawValue, reason: m.statusReason,
            module: modules.first { $0.apiName == m.module }?.pluralLabel ?? m.module,
            recipientsText: recipientsText,
            selectedNow: selected.map {
                "\($0.formatted()) \(selectedLabel) selected now; duplicates, missing or invalid addresses, opt-outs and suppressed addresses "
                    + "are left out when sending starts"
            },
            template: template?.name ?? "(deleted template)", templateLink: template.map { "/m/\(m.module)/templates/\($0.id)" },
            sender: sender.map { "\($0.name) <\($0.email)>" } ?? "(deleted sender)",
            scheduled: m.localDelivery == nil
                ? m.scheduledAt.map { LocalTime(zone: TimeZone(identifier: m.timeZone) ?? local.zone).readable($0) + " (\(m.timeZone))" } : nil,
            localDelivery: m.localDelivery.map { delivery in
                "\(delivery.timeText) on \(delivery.date) in each recipient's time zone (from \(RecipientZoneFields(module, source: RecipientAddressSource.of(module, among: modules)).summary)); "
                    + "where that time had passed when it was saved: \(delivery.ifPassed.label)"
                    + (m.resolvedAt == nil ? ". Starts \(local.readable(m.scheduledAt ?? delivery.savedAt)), when the time comes in the first zone" : "")
            },
            plannedSends: planned.map {
                Detail.PlannedSend(at: local.readable($0.at), utc: ISODateTime.format(epochSeconds: $0.at), messages: $0.messages, waiting: $0.waiting)
            },
            hasPlannedSends: !planned.isEmpty, plannedExpected: expected,
            abTest: try await abTestView(m, held: f[.held], local: local),
            started: m.startedAt.map(local.readable), finished: m.finishedAt.map(local.readable),
            resolving: m.status == .sending && m.resolvedAt == nil, waiting: waiting,
            figures: Detail.Progress(f, stopped: m.status == .stopped),
            engagement: Detail.Engagement(f, complaintThreshold: complaintThreshold),
            refusals: BouncePages.refusals(f), refused: MassEmailPages.ifAny(f.refused),
            chart: chart.isEmpty ? nil : chart.svg(in: local), chartRows: chart.rows(in: local),
            actions: m.triggerActions.enumerated().map { i, action in
                Detail.Action(summary: action.summary(in: module, userName: { names[$0] ?? "user \($0)" }), runs: runs[i] ?? 0)
            },
            hasActions: !m.triggerActions.isEmpty, machines: m.triggersOnMachineEvents,
            followUps: followUps.map { $0.row(massEmailID: m.id, local: local) }, hasFollowUps: !followUps.isEmpty,
            skipped: skipped, hasSkipped: !skipped.isEmpty,
            rows: rows.map { r in
                let notSent = stoppedSteps.contains(r.step) && MessageStatus.unsentWhenStopped.contains(r.status)
                return Detail.Message(
                    address: r.address, status: notSent ? "stopped" : r.status.rawValue, label: notSent ? Detail.notSentLabel : r.status.rawValue,
                    step: MassEmailPages.stepLabel(r.step) + (r.variant.map { ", variant \(ABTest.letter($0))" } ?? ""),
                    recordLink: "/m/\(m.module)/\(r.recordID)", attempts: r.attempts,
                    reply: [r.code.map(String.init), r.enhancedCode, r.text].compactMap { $0 }.joined(separator: " "),
                    when: (r.sentAt ?? (r.status == .deferred || r.status == .uncertain ? r.nextAttemptAt : nil)).map(local.readable) ?? "",
                    // A click counts as an open when the pixel was not loaded (images off).
                    opened: r.openedAt.map { "\(local.readable($0)) " + (r.opens > 0 ? "×\(r.opens)" : "(by its click)") } ?? "",
                    clicked: r.clickedAt.map { "\(local.readable($0)) ×\(r.clicks)" } ?? "",
                    machines: r.machineOpens + r.machineClicks > 0 ? "\(r.machineOpens) opens, \(r.machineClicks) clicks by machines" : nil,
                    unsubscribed: r.unsubscribedAt.map(local.readable) ?? "",
                    replied: r.repliedAt.map(local.readable), complained: r.complainedAt.map(local.readable))
            },
            next: rows.count == 100 ? "/mass-emails/\(m.id)?after=\(rows.last!.id)" : nil,
            editable: m.status.isEditable, pausable: m.status == .sending, resumable: m.status == .paused, deletable: m.status == .draft,
            stop: StopButton(m, followUps: followUps))
        // While it or a follow-up sends, the page refreshes itself (without JavaScript too).
        let refresh = m.status == .sending || m.status == .scheduled || followUps.contains { $0.status == .sending } ? 3 : nil
        return HTMLResponse(html: pages.render("mass_email", title: m.name, context: context, page: model, modules: modules,
                                               current: "mass-emails", refresh: refresh)).response
    }

    /// What the form calls a field that the input reports by its API path: "template_id" is
    /// "Template", "follow_ups[2].exclude.rules[0].value" "Follow-up 3, rule 1, value" (as its
    /// section names it); a path it does not know stays as it is.
    static func formLabel(_ field: String) -> String {
        let parts = field.split(separator: ".", maxSplits: 1).map(String.init)
        let head = parts[0], rest = parts.count > 1 ? parts[1] : nil
        if let (_, label) = RowProblem.name(field, under: "follow_ups", noun: "Follow-up", words: FollowUpForm.words)
            ?? RowProblem.name(field, under: "trigger_actions", noun: "Follow-up action", words: { $0.replacingOccurrences(of: "_", with: " ") }) {
            return label
        }
        let names = ["name": "Name", "recipients": "Recipients", "template_id": "Template", "sender_id": "Sender",
                     "schedule": "When", "new_template": "New template", "ab_test": "A/B test", "module": "Module"]
        guard let name = names[head] else { return field }
        // The schedule's and the recipients' parts are one control each on the form.
        if head == "schedule" || head == "recipients" { return name }
        return name + (rest.map { ": " + $0.replacingOccurrences(of: "_", with: " ") } ?? "")
    }

    /// A problem in the form's words where the API's would puzzle: the form has a picker, not
    /// ISO 8601 text, for a call's time; a recipients select rather than JSON keys.
    static func inFormWords(_ problem: Problem) -> Problem {
        var p = problem
        if p.field.hasPrefix("trigger_actions["), p.field.hasSuffix(".start_at") {
            p.reason = "choose the date and time of the call, or a time after the event"
        } else if p.field == "recipients", p.reason.hasPrefix("is required") {
            p.reason = "choose who receives it"
        }
        return p
    }

    /// The count, or nothing when it is 0: Mustache shows a section for any number, 0 included.
    static func ifAny(_ n: Int) -> Int? { n > 0 ? n : nil }

    static func rate(_ n: Int, of total: Int) -> String {
        total == 0 ? "—" : String(format: "%.1f%%", Double(n) / Double(total) * 100)
    }
}
