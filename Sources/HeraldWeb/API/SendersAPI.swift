import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/senders`: the organisation's sender addresses. Every user lists them, to pick
/// one for a mass email or a test; only admins change them.
struct SendersAPI {
    let store: Store
    let delivery: Delivery

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("senders") { _, _ in
            let senders = try await store.senders.all()
            let auth = try await delivery.domains.authentication(of: senders.map(\.email))
            return JSONResponse.make(JSONValue.object(["senders": .array(senders.map { Present.sender($0, authentication: auth[$0.email]) })]))
        }
        let admin = api.group().add(middleware: RequireAdminMiddleware())
        admin.post("senders") { request, context in
            let s = try await SendersAPI.read(request, context: context)
            return try await present(try await store.senders.create(
                email: s.email, name: s.name, replyTo: s.replyTo, ratePerMinute: s.perMinute, ratePerHour: s.perHour), status: .created)
        }
        admin.put("senders/:id") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            _ = try await store.senders.find(id)
            let s = try await SendersAPI.read(request, context: context)
            return try await present(try await store.senders.update(
                id, email: s.email, name: s.name, replyTo: s.replyTo, ratePerMinute: s.perMinute, ratePerHour: s.perHour))
        }
        admin.delete("senders/:id") { _, context in
            try await store.senders.delete(try context.parameters.require("id", as: Int64.self))
            return Response(status: .noContent)
        }
    }

    func present(_ sender: Sender, status: HTTPResponse.Status = .ok) async throws -> Response {
        let auth = try await delivery.domains.authentication(of: [sender.email])[sender.email]
        return JSONResponse.make(Present.sender(sender, authentication: auth), status: status)
    }

    static func read(_ request: Request, context: AppRequestContext) async throws
        -> (email: String, name: String, replyTo: String?, perMinute: Int?, perHour: Int?) {
        var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
        let email = body.string("email", required: true, maxLength: 254)
        let name = body.string("name", required: true, maxLength: SenderStore.maxNameLength)
        let replyTo = body.string("reply_to", maxLength: 254)
        let perMinute = body.int("rate_per_minute", range: 1...10_000_000)
        let perHour = body.int("rate_per_hour", range: 1...100_000_000)
        try body.finish()
        return (email!, name!, replyTo, perMinute.map(Int.init), perHour.map(Int.init))
    }
}
