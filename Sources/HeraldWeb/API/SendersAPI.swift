import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/senders`: the organisation's sender addresses. Every user lists them, to pick
/// one for a mass email or a test; only admins change them.
struct SendersAPI {
    let delivery: Delivery

    func register(on api: RouterGroup<AppRequestContext>) {
        let senders = delivery.senders
        api.get("senders") { _, _ in
            JSONResponse.make(JSONValue.object(["senders": .array(try await senders.list().map(Present.sender))]))
        }
        // The admin check is the use case's; on the routes too, so that others learn nothing from a 404.
        let admin = api.group().add(middleware: RequireAdminMiddleware())
        admin.post("senders") { request, context in
            let input = try await SendersAPI.read(request, context: context)
            return JSONResponse.make(Present.sender(try await senders.create(input, by: try context.user())), status: .created)
        }
        admin.put("senders/:id") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            _ = try await senders.find(id)
            let input = try await SendersAPI.read(request, context: context)
            return JSONResponse.make(Present.sender(try await senders.update(id, input, by: try context.user())))
        }
        admin.delete("senders/:id") { _, context in
            try await senders.delete(try context.parameters.require("id", as: Int64.self), by: try context.user())
            return Response(status: .noContent)
        }
    }

    static func read(_ request: Request, context: AppRequestContext) async throws -> SenderActions.Input {
        var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
        let email = body.string("email", required: true, maxLength: 254)
        let name = body.string("name", required: true, maxLength: SenderStore.maxNameLength)
        let replyTo = body.string("reply_to", maxLength: 254)
        let perMinute = body.int("rate_per_minute", range: 1...10_000_000)
        let perHour = body.int("rate_per_hour", range: 1...100_000_000)
        if let email, let name {
            for problem in SenderStore.problems(email: email, name: name, replyTo: replyTo) { body.add(problem.field, problem.reason) }
        }
        try body.finish()
        return SenderActions.Input(email: email!, name: name!, replyTo: replyTo, ratePerMinute: perMinute.map(Int.init),
                                   ratePerHour: perHour.map(Int.init))
    }
}
