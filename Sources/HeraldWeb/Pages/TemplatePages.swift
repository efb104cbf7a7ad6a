import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// The templates of a module and the template editor.
///
/// The editor is one form. "Save" posts it to its action; "Preview" and "Send test" post the
/// same fields to their own actions (`formaction`), which render the editor again with the
/// result below, so everything works without JavaScript. With it, `app.js` inserts merge
/// tags from the picker at the cursor and previews through the API without a reload.
struct TemplatePages {
    let store: Store
    let templates: TemplateActions
    let pages: PageRenderer
    let mail: MailTesting

    /// What the editor shows besides the template: a preview, a test's outcome, problems.
    struct Outcome {
        var problems: [Problem] = []
        var preview: RenderedMail?
        var testResult: JSONValue?
        var testError: String?
        var spam: SpamCheck.Outcome?
        var spamError: String?
        var status: HTTPResponse.Status = .ok
    }

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/templates") { _, _ in
            let first = try await store.modules.all().first { $0.emailField != nil }
            return Response.redirect(to: "/m/\(first?.apiName ?? "contacts")/templates", type: .found)
        }
        app.get("/m/:module/templates") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return try await list(module, context: context)
        }
        app.get("/m/:module/templates/new") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = FormData(pairs: [("html", "<p>Hello {{first_name | \"there\"}},</p>\n\n<p></p>")])
            return try await editor(module, template: nil, form: form, outcome: Outcome(), context: context)
        }
        app.get("/m/:module/templates/:id") { _, context in
            let (module, template) = try await find(context)
            let form = FormData(pairs: [("name", template.name), ("subject", template.subject), ("html", template.html),
                                        ("text", template.text ?? "")])
            return try await editor(module, template: template, form: form, outcome: Outcome(), context: context)
        }
        app.post("/m/:module/templates") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            do {
                let saved = try await templates.create(in: module, Self.content(form), by: try context.user())
                return context.redirect(to: "/m/\(module.apiName)/templates/\(saved.id)", flash: "Template saved.")
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await editor(module, template: nil, form: form, outcome: failed(error), context: context)
            }
        }
        app.post("/m/:module/templates/:id") { request, context in
            let (module, template) = try await find(context)
            let form = try await FormData.read(request, context: context)
            do {
                _ = try await templates.update(template.id, Self.content(form), by: try context.user())
                return context.redirect(to: "/m/\(module.apiName)/templates/\(template.id)", flash: "Template saved.")
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await editor(module, template: template, form: form, outcome: failed(error), context: context)
            }
        }
        app.post("/m/:module/templates/:id/delete") { _, context in
            let (module, template) = try await find(context)
            try await templates.delete(template.id, by: try context.user())
            return Response.redirect(to: "/m/\(module.apiName)/templates", type: .found)
        }
        // Preview and test of the form as it stands, saved or not (`template` names the saved one).
        app.post("/m/:module/templates/preview") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            var outcome = Outcome()
            do {
                outcome.preview = try await mail.preview(
                    subject: form["subject"] ?? "", html: form["html"] ?? "", text: form["text"], module: module,
                    recordID: TemplatePages.recordID(form), senderID: form["sender_id"].flatMap { Int64($0) },
                    user: try context.user())
            } catch let error as HeraldError where error.kind == .invalid {
                outcome = failed(error)
            }
            return try await editor(module, template: try await saved(form), form: form, outcome: outcome, context: context)
        }
        app.post("/m/:module/templates/test") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            var outcome = Outcome()
            do {
                let sender = try await mail.sender(form["sender_id"].flatMap { Int64($0) }, required: true)!
                let rendered = try await mail.preview(
                    subject: form["subject"] ?? "", html: form["html"] ?? "", text: form["text"], module: module,
                    recordID: TemplatePages.recordID(form), senderID: sender.id, user: try context.user())
                outcome.testResult = try await mail.send(rendered, from: sender, to: form["to"] ?? "", by: try context.user())
            } catch let error as HeraldError where [.invalid, .upstream, .tooManyRequests].contains(error.kind) {
                if error.kind != .invalid || error.problems.allSatisfy({ ["to", "sender_id", "record_id"].contains($0.field) }) {
                    outcome.testError = error.message
                    outcome.status = ErrorMiddleware.status(for: error.kind)
                } else {
                    outcome = failed(error)
                }
            }
            return try await editor(module, template: try await saved(form), form: form, outcome: outcome, context: context)
        }
        app.post("/m/:module/templates/spam-check") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            var outcome = Outcome()
            do {
                outcome.spam = try await mail.spamCheck(
                    subject: form["subject"] ?? "", html: form["html"] ?? "", text: form["text"], module: module,
                    recordID: TemplatePages.recordID(form), senderID: form["sender_id"].flatMap { Int64($0) }, user: try context.user())
            } catch let error as HeraldError where [.invalid, .upstream, .tooManyRequests].contains(error.kind) {
                if error.kind != .invalid || error.problems.allSatisfy({ ["sender_id", "record_id"].contains($0.field) }) {
                    outcome.spamError = error.message
                    outcome.status = ErrorMiddleware.status(for: error.kind)
                } else {
                    outcome = failed(error)
                }
            }
            return try await editor(module, template: try await saved(form), form: form, outcome: outcome, context: context)
        }
    }

    private func failed(_ error: HeraldError) -> Outcome {
        Outcome(problems: error.pageProblems,
                status: error.kind == .conflict ? .conflict : .unprocessableContent)
    }

    private func find(_ context: AppRequestContext) async throws -> (Module, MailTemplate) {
        let module = try await store.modules.named(context.parameters.require("module"))
        return (module, try await templates.find(try context.parameters.require("id", as: Int64.self), in: module))
    }

    /// The editor's fields as the use case takes them.
    static func content(_ form: FormData) -> TemplateActions.Content {
        TemplateActions.Content(name: form["name"] ?? "", subject: form["subject"] ?? "", html: form["html"] ?? "", text: form["text"])
    }

    /// The saved template the form edits, if it names one.
    private func saved(_ form: FormData) async throws -> MailTemplate? {
        guard let id = form["template_id"].flatMap({ Int64($0) }) else { return nil }
        return try? await templates.find(id)
    }

    /// The record to preview with: a typed id wins over the drop-down.
    static func recordID(_ form: FormData) throws -> Int64? {
        for key in ["record_id", "record_choice"] {
            let text = (form[key] ?? "").trimmedWhitespace
            if text.isEmpty { continue }
            guard let id = Int64(text), id > 0 else { throw HeraldError.invalid(field: "record_id", "'\(text)' is not a record id") }
            return id
        }
        return nil
    }

    func list(_ module: Module, context: AppRequestContext) async throws -> Response {
        let modules = try await store.modules.all()
        let templates = try await templates.list(in: module)
        let local = LocalTime(zoneNamed: try context.user().timeZone)
        let model = List(
            module: ModuleLabels(module),
            modules: modules.map { List.Tab(apiName: $0.apiName, label: $0.pluralLabel, current: $0.apiName == module.apiName) },
            templates: templates.map {
                List.Row(id: $0.id, name: $0.name, subject: $0.subject, hasText: $0.hasOwnText,
                         modified: local.readable($0.modifiedAt))
            },
            empty: templates.isEmpty)
        let html = pages.render("templates", title: "Templates of \(module.pluralLabel)", context: context, page: model,
                                modules: modules, current: module.apiName)
        return HTMLResponse(html: html).response
    }

    func editor(_ module: Module, template: MailTemplate?, form: FormData, outcome: Outcome,
                context: AppRequestContext) async throws -> Response {
        let user = try context.user()
        let errors = Dictionary(grouping: outcome.problems, by: \.field).mapValues { $0.map(\.reason) }
        let known: Set<String> = ["name", "subject", "html", "text"]
        let senders = try await store.senders.all()
        let chosenSender = form["sender_id"].flatMap { Int64($0) }
        let chosenRecord = form["record_choice"].flatMap { Int64($0) }
        let title = template.map { "Template \($0.name)" } ?? "New template for \(module.pluralLabel)"
        let model = Editor(
            title: title, module: ModuleLabels(module),
            action: template.map { "/m/\(module.apiName)/templates/\($0.id)" } ?? "/m/\(module.apiName)/templates",
            name: form["name"] ?? "", subject: form["subject"] ?? "", html: form["html"] ?? "", text: form["text"] ?? "",
            errors: errors.filter { known.contains($0.key) }.mapValues(Editor.Errors.init),
            otherErrors: outcome.problems.filter { !known.contains($0.field) }.map(\.description),
            hasOtherErrors: outcome.problems.contains { !known.contains($0.field) },
            hasErrors: !outcome.problems.isEmpty, saved: template != nil, picker: TemplatePages.picker(module, among: try await store.modules.all()),
            records: try await mail.sampleRecords(in: module, user: user).map {
                Editor.Sample(id: $0.id, title: $0.title, selected: $0.id == chosenRecord)
            },
            recordID: form["record_id"] ?? "",
            senders: senders.map { Editor.SenderOption(id: $0.id, label: "\($0.name) <\($0.email)>", selected: $0.id == chosenSender) },
            hasSenders: !senders.isEmpty, isAdmin: user.isAdmin,
            mayChange: template.map { user.mayChange(madeBy: $0.createdBy) } ?? true,
            to: form["to"] ?? user.email, previewURL: "/api/v1/modules/\(module.apiName)/templates/preview",
            template: template.map { Editor.Saved(id: $0.id, name: $0.name) },
            preview: outcome.preview.map(Present.rendered), testResult: outcome.testResult, testError: outcome.testError,
            spam: outcome.spam.map(SpamPanel.init), spamError: outcome.spamError)
        let html = pages.render("template_form", title: title, context: context, page: model,
                                modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: outcome.status).response
    }

    /// The merge fields offered by the picker, in groups: the module's, those of each record a
    /// lookup names (a deal's contact: `contact.first_name`), the owner's, the sender's.
    static func picker(_ module: Module, among modules: [Module]) -> [Editor.PickerGroup] {
        typealias Item = Editor.PickerGroup.Item
        func item(_ name: String, _ label: String) -> Item { Item(tag: "{{\(name)}}", label: label) }
        let lookups = CompiledTemplate.lookups(of: module, among: modules)
        return [Editor.PickerGroup(group: module.pluralLabel, items: module.fields.map { item($0.apiName, $0.label) })]
            + lookups.keys.sorted().map { lookup in
                let label = module.field(lookup)?.label ?? lookup
                return Editor.PickerGroup(group: label, items: lookups[lookup]!.fields.map { item("\(lookup).\($0.apiName)", "\(label): \($0.label)") })
            } + [
            Editor.PickerGroup(group: "Owner", items: [item("owner.name", "Owner name"), item("owner.email", "Owner email")]),
            Editor.PickerGroup(group: "Sender", items: [item("sender.name", "Sender name"), item("sender.email", "Sender email"),
                                                        item("sender.reply_to", "Sender reply-to")]),
            // Added at the end of every mass email when the template does not place it itself.
            Editor.PickerGroup(group: "Links", items: [item(LinkTracking.unsubscribeName, "Unsubscribe link address")]),
        ]
    }

    /// A module's templates, with a tab for each module (`templates.mustache`).
    struct List: PageModel {
        struct Tab: PageModel { let apiName: String, label: String, current: Bool }
        struct Row: PageModel {
            let id: Int64
            let name: String, subject: String
            let hasText: Bool
            let modified: String
        }

        let module: ModuleLabels
        let modules: [Tab]
        let templates: [Row]
        let empty: Bool
    }

    /// The template editor with its preview, test message and spam check (`template_form.mustache`).
    struct Editor: PageModel {
        struct Errors: PageModel { let items: [String] }
        struct PickerGroup: PageModel {
            struct Item: PageModel { let tag: String, label: String }
            let group: String
            let items: [Item]
        }
        struct Sample: PageModel { let id: Int64, title: String, selected: Bool }
        struct SenderOption: PageModel { let id: Int64, label: String, selected: Bool }
        struct Saved: PageModel { let id: Int64, name: String }

        let title: String
        let module: ModuleLabels
        let action: String
        let name: String, subject: String, html: String, text: String
        let errors: [String: Errors]
        let otherErrors: [String]
        let hasOtherErrors: Bool, hasErrors: Bool, saved: Bool
        let picker: [PickerGroup]
        let records: [Sample]
        let recordID: String
        let senders: [SenderOption]
        let hasSenders: Bool, isAdmin: Bool, mayChange: Bool
        let to: String, previewURL: String
        let template: Saved?
        let preview: JSONValue?
        let testResult: JSONValue?
        let testError: String?
        let spam: SpamPanel?
        let spamError: String?
    }
}

extension FormData {
    init(pairs: [(String, String)]) {
        self.init("")
        self.pairs = pairs
    }
}
