import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/modules/:module/templates` and `/api/v1/templates/:id`: mail templates, checked
/// when saved, previewed with a record and sent as a test to one address.
struct TemplatesAPI {
    let store: Store
    let templates: TemplateActions
    let mail: MailTesting

    typealias Content = TemplateActions.Content

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("modules/:module/templates") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return JSONResponse.make(JSONValue.object(["templates": .array(try await templates.list(in: module).map(Present.template))]))
        }
        api.post("modules/:module/templates") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            var body = try await TemplatesAPI.body(request, context: context)
            let content = try TemplatesAPI.content(&body, requireName: true)
            try body.finish()
            let template = try await templates.create(in: module, content, by: try context.user())
            return JSONResponse.make(Present.template(template), status: .created)
        }
        api.post("modules/:module/templates/preview") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            var body = try await TemplatesAPI.body(request, context: context)
            let content = try TemplatesAPI.content(&body, requireName: false)
            let recordID = body.int("record_id"), senderID = body.int("sender_id")
            try body.finish()
            let rendered = try await mail.preview(subject: content.subject, html: content.html, text: content.text, module: module,
                                                  recordID: recordID, senderID: senderID, user: try context.user())
            return JSONResponse.make(Present.rendered(rendered))
        }
        // The spam check of content as it stands, saved or not, and of a saved template.
        api.post("modules/:module/templates/spam-check") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            var body = try await TemplatesAPI.body(request, context: context)
            let content = try TemplatesAPI.content(&body, requireName: false)
            let recordID = body.int("record_id"), senderID = body.int("sender_id")
            try body.finish()
            return JSONResponse.make(Present.spam(try await mail.spamCheck(
                subject: content.subject, html: content.html, text: content.text, module: module,
                recordID: recordID, senderID: senderID, user: try context.user())))
        }
        api.post("templates/:id/spam-check") { request, context in
            let template = try await templates.find(try context.parameters.require("id", as: Int64.self))
            var body = try await TemplatesAPI.body(request, context: context, emptyIsObject: true)
            let recordID = body.int("record_id"), senderID = body.int("sender_id")
            try body.finish()
            return JSONResponse.make(Present.spam(try await mail.spamCheck(
                subject: template.subject, html: template.html, text: template.hasOwnText ? template.text : nil,
                module: try await store.modules.named(template.module), recordID: recordID, senderID: senderID, user: try context.user())))
        }
        api.get("templates/:id") { _, context in
            JSONResponse.make(Present.template(try await templates.find(try context.parameters.require("id", as: Int64.self))))
        }
        api.put("templates/:id") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            _ = try await templates.find(id)
            var body = try await TemplatesAPI.body(request, context: context)
            let content = try TemplatesAPI.content(&body, requireName: true)
            try body.finish()
            let template = try await templates.update(id, content, by: try context.user())
            return JSONResponse.make(Present.template(template))
        }
        api.delete("templates/:id") { _, context in
            try await templates.delete(try context.parameters.require("id", as: Int64.self), by: try context.user())
            return Response(status: .noContent)
        }
        api.post("templates/:id/preview") { request, context in
            let template = try await templates.find(try context.parameters.require("id", as: Int64.self))
            var body = try await TemplatesAPI.body(request, context: context, emptyIsObject: true)
            let recordID = body.int("record_id"), senderID = body.int("sender_id")
            try body.finish()
            let rendered = try await mail.preview(subject: template.subject, html: template.html, text: template.text,
                                                  module: try await store.modules.named(template.module),
                                                  recordID: recordID, senderID: senderID, user: try context.user())
            return JSONResponse.make(Present.rendered(rendered))
        }
        api.post("templates/:id/test") { request, context in
            let template = try await templates.find(try context.parameters.require("id", as: Int64.self))
            var body = try await TemplatesAPI.body(request, context: context)
            let to = body.string("to", required: true, maxLength: 254)
            let recordID = body.int("record_id"), senderID = body.int("sender_id")
            try body.finish()
            let sender = try await mail.sender(senderID, required: true)!
            let rendered = try await mail.preview(subject: template.subject, html: template.html, text: template.text,
                                                  module: try await store.modules.named(template.module),
                                                  recordID: recordID, senderID: sender.id, user: try context.user())
            return JSONResponse.make(try await mail.send(rendered, from: sender, to: to!, by: try context.user()))
        }
    }

    /// The request's JSON object; with `emptyIsObject`, an empty body reads as `{}`.
    static func body(_ request: Request, context: AppRequestContext, emptyIsObject: Bool = false) async throws -> JSONObjectReader {
        if emptyIsObject {
            var request = request
            let buffer = try await request.collectBody(upTo: context.maxUploadSize)
            if buffer.readableBytes == 0 { return try JSONObjectReader(.object([:])) }
            return try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
        }
        return try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
    }

    /// Reads name, subject, html and text; a missing subject or html is reported by the store
    /// or the compiler, together with the template's own mistakes.
    static func content(_ body: inout JSONObjectReader, requireName: Bool) throws -> Content {
        let name = requireName ? body.string("name", required: true, maxLength: TemplateStore.maxNameLength) : nil
        let subject = body.string("subject", required: true, maxLength: TemplateStore.maxSubjectLength)
        let html = body.string("html", required: true, maxLength: TemplateStore.maxBodyLength)
        let text = body.string("text", maxLength: TemplateStore.maxBodyLength)
        if !requireName { _ = body.has("name") }
        guard body.problems.isEmpty else { try body.finish(); throw HeraldError.invalid([]) }
        return Content(name: name ?? "", subject: subject ?? "", html: html ?? "", text: text)
    }
}
