import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/mass-emails`: create, schedule, edit, stop, pause and resume mass emails, and
/// read their figures and per-recipient outcomes.
struct MassEmailsAPI {
    let store: Store
    let delivery: Delivery

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("mass-emails") { request, context in
            let user = try context.user()
            let owner = user.role == .admin ? nil : user.id
            var statuses: [MassEmail.Status]?
            if let text = request.uri.queryParameters["status"].map(String.init), !text.isEmpty {
                var parsed: [MassEmail.Status] = []
                for part in text.split(separator: ",") {
                    guard let status = MassEmail.Status(rawValue: String(part)) else {
                        throw HeraldError.invalid(field: "status", "'\(part)' is not a status; use one of \(MassEmail.Status.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    parsed.append(status)
                }
                statuses = parsed
            }
            let massEmails = try await store.massEmails.all(statuses: statuses, owner: owner)
            let figures = try await store.massEmails.figures(massEmails.map(\.id))
            let followUps = try await FollowUpReport.load(massEmails, store: store)
            let counts = try await store.massEmails.countsByStatus(owner: owner)
            let waiting = try await DeliveryWait.load(store)
            let warnings = try await senderWarnings(massEmails)
            return JSONResponse.make(JSONValue.object([
                "mass_emails": .array(massEmails.map {
                    Present.massEmail($0, figures: figures[$0.id] ?? MassEmailFigures(), followUps: followUps[$0.id] ?? [], waiting: waiting,
                                      warnings: warnings[$0.senderID].map { [$0] } ?? [])
                }),
                "counts": .object(Dictionary(uniqueKeysWithValues: MassEmail.Status.allCases.map { ($0.rawValue, JSONValue.number(Double(counts[$0] ?? 0))) })),
            ]))
        }
        api.post("mass-emails") { request, context in
            let user = try context.user()
            let body = try await JSONBody.decode(JSONValue.self, from: request, context: context)
            let (module, draft) = try await MassEmailInput.parse(body, store: store, delivery: delivery, scope: try context.user().scope)
            let created = try await delivery.massEmails.create(draft, in: module, by: user)
            return JSONResponse.make(try await present(created), status: .created)
        }
        api.get("mass-emails/:id") { _, context in
            JSONResponse.make(try await present(try await fetch(context)))
        }
        api.put("mass-emails/:id") { request, context in
            let existing = try await fetch(context)
            let body = try await JSONBody.decode(JSONValue.self, from: request, context: context)
            let (module, draft) = try await MassEmailInput.parse(body, store: store, delivery: delivery, module: existing.module,
                                                                 scope: try context.user().scope)
            let updated = try await delivery.massEmails.update(existing.id, with: draft, in: module, by: try context.user())
            return JSONResponse.make(try await present(updated))
        }
        api.delete("mass-emails/:id") { _, context in
            try await delivery.massEmails.delete(try Self.id(context), by: try context.user())
            return Response(status: .noContent)
        }
        api.post("mass-emails/:id/stop") { _, context in
            JSONResponse.make(try await present(try await delivery.massEmails.stop(try Self.id(context), by: try context.user())))
        }
        api.post("mass-emails/:id/follow-ups/:step/stop") { _, context in
            JSONResponse.make(try await present(try await delivery.massEmails.stopFollowUp(try Self.id(context), step: Self.step(context),
                                                                                             by: try context.user())))
        }
        api.post("mass-emails/:id/follow-ups/:step/resume") { _, context in
            JSONResponse.make(try await present(try await delivery.massEmails.resumeFollowUp(try Self.id(context), step: Self.step(context),
                                                                                               by: try context.user())))
        }
        api.post("mass-emails/:id/pause") { _, context in
            JSONResponse.make(try await present(try await delivery.massEmails.pause(try Self.id(context), by: try context.user())))
        }
        api.post("mass-emails/:id/resume") { _, context in
            JSONResponse.make(try await present(try await delivery.massEmails.resume(try Self.id(context), by: try context.user())))
        }
        api.post("mass-emails/:id/ab-winner") { request, context in
            let id = try Self.id(context)
            let body = try await JSONBody.decode(JSONValue.self, from: request, context: context)
            var reader = try JSONObjectReader(body)
            let letter = reader.string("variant", required: true, maxLength: 1)
            try reader.finish()
            let m = try await delivery.massEmails.pickWinner(id, variant: try ABTestInput.variant(letter), by: try context.user())
            return JSONResponse.make(try await present(m))
        }
        api.get("mass-emails/:id/messages") { request, context in
            let massEmail = try await fetch(context)
            let query = request.uri.queryParameters
            var status: MessageStatus?
            if let text = query["status"].map(String.init), !text.isEmpty {
                guard let parsed = MessageStatus(rawValue: text) else {
                    throw HeraldError.invalid(field: "status", "'\(text)' is not a message status; use one of \(MessageStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                status = parsed
            }
            let after = try Self.queryInt(query["after"].map(String.init), field: "after") ?? 0
            let limit = min(try Self.queryInt(query["limit"].map(String.init), field: "limit") ?? 100, 1000)
            let rows = try await store.messages.page(massEmail: massEmail.id, status: status, after: after, limit: Int(max(limit, 1)))
            return JSONResponse.make(JSONValue.object([
                "messages": .array(rows.map(Present.message)),
                "next_after": rows.count == Int(max(limit, 1)) ? .number(Double(rows.last!.id)) : .null,
            ]))
        }
    }

    /// The mass email named in the path, if the caller may see it (``MassEmailActions/find(_:for:)``).
    func fetch(_ context: AppRequestContext) async throws -> MassEmail {
        try await delivery.massEmails.find(try Self.id(context), for: try context.user())
    }

    /// The mass email's id in the path.
    static func id(_ context: AppRequestContext) throws -> Int64 {
        try context.parameters.require("id", as: Int64.self)
    }

    func present(_ massEmail: MassEmail) async throws -> JSONValue {
        let figures = try await store.massEmails.figures([massEmail.id])[massEmail.id] ?? MassEmailFigures()
        let followUps = try await FollowUpReport.load([massEmail], store: store)
        return Present.massEmail(massEmail, figures: figures, followUps: followUps[massEmail.id] ?? [], waiting: try await DeliveryWait.load(store),
                                 warnings: try await senderWarnings([massEmail])[massEmail.senderID].map { [$0] } ?? [],
                                 plannedSends: try await delivery.scheduler.plannedSends(massEmail).sends,
                                 selectedRecords: try await delivery.scheduler.selectedRecords(massEmail),
                                 abResults: massEmail.abTest == nil ? nil
                                    : try await store.abTests.results(massEmail.id, variants: massEmail.abTest!.variants.count))
    }

    /// The warning of each mass email's sender (an unsigned or unverified domain), by sender.
    func senderWarnings(_ massEmails: [MassEmail]) async throws -> [Int64: String] {
        let wanted = Set(massEmails.map(\.senderID))
        let senders = try await store.senders.all().filter { wanted.contains($0.id) }
        let authentication = try await delivery.domains.authentication(of: senders.map(\.email))
        var warnings: [Int64: String] = [:]
        for sender in senders { warnings[sender.id] = authentication[sender.email]?.warning }
        return warnings
    }

    /// The follow-up step named in the path (1 for the first; checked by ``MassEmailActions``).
    static func step(_ context: AppRequestContext) -> Int? {
        context.parameters.get("step").flatMap { Int($0) }
    }

    static func queryInt(_ text: String?, field: String) throws -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        guard let n = Int64(text), n >= 0 else { throw HeraldError.invalid(field: field, "must be a whole number ≥ 0, not '\(text)'") }
        return n
    }
}

/// Reads a mass email's details from JSON (the API) or from the create form turned into
/// the same JSON: one reader, so that both say the same about the same mistake.
enum MassEmailInput {
    /// - Parameters:
    ///   - module: the module of a mass email being edited (it cannot change).
    ///   - delivery: refuses, when the organisation sends only from authenticated domains, a
    ///     sender that is not, and, when it refuses mass email over its spam threshold, a
    ///     template that scores over it (a draft may still be saved).
    ///   - scope: whose records the spam check may render the template with.
    static func parse(_ body: JSONValue, store: Store, delivery: Delivery, module fixed: String? = nil,
                      scope: AccessScope) async throws -> (Module, MassEmailDraft) {
        var reader = try JSONObjectReader(body)
        let name = reader.string("name", required: true, maxLength: MassEmailDraft.maxNameLength)
        // A blank name is said with the other fields' problems, not after them.
        if let name, name.count <= MassEmailDraft.maxNameLength, let problem = MassEmailDraft.nameProblem(name) { reader.add("name", problem) }
        let moduleName = fixed ?? reader.string("module", required: true)
        if fixed != nil { _ = reader.raw("module") }
        let templateID = reader.int("template_id", required: true)
        let senderID = reader.int("sender_id", required: true)
        var recipients: MassEmail.Recipients?
        // Every problem, nested ones included, is collected and answered at once.
        if var r = reader.nested("recipients") {
            let view = r.int("view_id")
            let list = r.int("list_id")
            let ids = r.ids("record_ids", maxCount: MassEmailDraft.maxSelectedRecords)
            let all = r.bool("all")
            if all == false { r.add("all", "must be true when given (or give view_id, list_id or record_ids instead)") }
            switch (view, list, ids, all == true) {
            case (let v?, nil, nil, false): recipients = .view(v)
            case (nil, let l?, nil, false): recipients = .list(l)
            case (nil, nil, let i?, false): recipients = .records(i)
            case (nil, nil, nil, true): recipients = .all
            case (nil, nil, nil, false) where r.allProblems.contains(where: {
                ["recipients.view_id", "recipients.list_id", "recipients.record_ids", "recipients.all"].contains($0.field)
            }):
                break  // the one given was of the wrong type, which is said already
            default: reader.add("recipients", "give exactly one of view_id, list_id, record_ids or all")
            }
            reader.absorb(r)
        }
        if recipients == nil, !reader.allProblems.contains(where: { $0.field.hasPrefix("recipients") }) {
            reader.add("recipients", "is required: {\"view_id\": …}, {\"list_id\": …}, {\"record_ids\": […]} or {\"all\": true}")
        }
        var schedule: MassEmailDraft.Schedule = .draft
        if var s = reader.nested("schedule") {
            switch s.string("send", required: true) {
            case "draft"?: schedule = .draft
            case "now"?: schedule = .now
            case "later"?:
                let date = Self.date(&s)
                let time = Self.time(&s)
                let zone = s.string("time_zone", required: true)
                if let date, let time, let zone { schedule = .at(date: date, hour: time.0, minute: time.1, timeZone: zone) }
            case "local_time"?:
                let date = Self.date(&s)
                let time = Self.time(&s)
                var ifPassed = LocalDelivery.IfPassed.sendAtOnce
                if let text = s.string("if_passed") {
                    if let choice = LocalDelivery.IfPassed(rawValue: text) { ifPassed = choice } else {
                        s.add("if_passed", "'\(text)' is not one of \(LocalDelivery.IfPassed.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
                if let date, let time { schedule = .localTime(date: date, hour: time.0, minute: time.1, ifPassed: ifPassed) }
            case let other?: s.add("send", "'\(other)' is not one of draft, now, later, local_time")
            case nil: break
            }
            reader.absorb(s)
        }
        let triggerActions = TriggerActionInput.parse(&reader)
        let machines = reader.bool("include_machine_events") ?? false
        let followUps = FollowUpInput.parse(&reader)
        let abTest = ABTestInput.parse(&reader)
        try reader.finish()
        let module = try await store.modules.named(moduleName!)
        let modules = try await store.modules.all()
        if RecipientAddressSource.of(module, among: modules) == nil {
            throw HeraldError.invalid(field: "module", RecipientAddressSource.unreachable(module))
        }
        if schedule != .draft, let sender = try? await store.senders.find(senderID!) {
            try await delivery.domains.requireAuthenticated(sender)
            let chosen: [Int64] = if case .records(let ids)? = recipients { ids } else { [] }
            // Each A/B variant as it goes: its template (or the mass email's) with its own subject, if any.
            let variants = (abTest?.variants ?? []).enumerated().map { i, v in
                SpamCheck.Content(field: "ab_test.variants[\(i)]." + (v.subject != nil && v.templateID == nil ? "subject" : "template_id"),
                                  templateID: v.templateID ?? templateID!, subject: v.subject)
            }
            let contents = [SpamCheck.Content(field: "template_id", templateID: templateID!)]
                + followUps.enumerated().map { SpamCheck.Content(field: "follow_ups[\($0.offset)].template_id", templateID: $0.element.templateID) }
                + variants
            try await delivery.spam.requireUnderThreshold(contents, sender: sender, module: module, recordIDs: chosen, scope: scope)
        }
        return (module, MassEmailDraft(name: name!, recipients: recipients!, templateID: templateID!, senderID: senderID!, schedule: schedule,
                                       triggerActions: triggerActions, triggersOnMachineEvents: machines, followUps: followUps, abTest: abTest))
    }

    /// The schedule's `date`, `YYYY-MM-DD`.
    static func date(_ s: inout JSONObjectReader) -> LocalDate? {
        s.string("date", required: true).flatMap { text -> LocalDate? in
            guard let d = LocalDate(iso: text) else { s.add("date", "'\(text)' is not a date (YYYY-MM-DD)"); return nil }
            return d
        }
    }

    /// The schedule's `time`, `HH:MM`.
    static func time(_ s: inout JSONObjectReader) -> (Int, Int)? {
        s.string("time", required: true).flatMap { text -> (Int, Int)? in
            let parts = text.split(separator: ":")
            guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]) else {
                s.add("time", "'\(text)' is not a time (HH:MM)")
                return nil
            }
            return (h, m)
        }
    }
}
