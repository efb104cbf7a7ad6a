import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/suppressions`: the addresses Herald never sends to. Admins read all of it, a user
/// the addresses of the records they own; admins add, import and remove.
struct SuppressionsAPI {
    let store: Store
    let delivery: Delivery

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("suppressions") { request, context in
            let query = request.uri.queryParameters
            var problems = ProblemList()
            let limit = query["limit"].map { Int(String($0)) } ?? 100
            if limit == nil || !(1...1000).contains(limit!) { problems.add("limit", "must be a whole number from 1 to 1000") }
            if let q = query["q"], q.count > 320 { problems.add("q", "must be at most 320 characters") }
            let search = query["q"].map(String.init).flatMap { $0.trimmedWhitespace.isEmpty ? nil : $0.trimmedWhitespace }
            try problems.check()
            let after = query["after"].map(String.init) ?? ""
            let scope = try context.user().scope, modules = try await store.modules.all()
            let rows = try await store.suppressions.page(search: search, after: after, limit: limit!, scope: scope, modules: modules)
            let total = try await store.suppressions.count(search: search, scope: scope, modules: modules)
            return JSONResponse.make(JSONValue.object([
                "suppressions": .array(rows.map(Present.suppression)), "total": .number(Double(total)),
                "next_after": rows.count == limit ? .string(rows.last!.address) : .null,
            ]))
        }
        let admin = api.group("suppressions").add(middleware: RequireAdminMiddleware())
        admin.post { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let address = body.string("address", required: true, maxLength: 320)
            let reason = body.string("reason", maxLength: 200)
            try body.finish()
            let added = try await delivery.suppressions.add(address!, reason: reason, by: try context.user())
            return JSONResponse.make(JSONValue.object(["address": .string(added.address), "reason": .string(added.reason)]), status: .created)
        }
        // A CSV file with an email column, or one address a line; the reason in the query.
        admin.post("import") { request, context in
            let reason = request.uri.queryParameters["reason"].map(String.init) ?? ""
            try CSVBody.checkMediaType(of: request)
            var request = request
            let body = try await request.collectBody(upTo: 16 * 1024 * 1024)
            guard body.readableBytes > 0 else {
                throw HeraldError.invalid(field: "body", "is empty: send a CSV file with an email column, or one address a line")
            }
            let text = String(buffer: body)
            // A header alone, or blank lines: nothing was meant that could be reported on, as
            // with an empty body. A file whose lines are all wrong still gets its report.
            let list = SuppressionImport(text: text)
            guard !list.addresses.isEmpty || !list.problems.isEmpty || list.repeated > 0 else {
                throw HeraldError.invalid(field: "body", "holds no address: send a CSV file with an email column, or one address a line")
            }
            let report = try await delivery.suppressions.importList(list, reason: reason, by: try context.user())
            return JSONResponse.make(Present.suppressionImport(report))
        }
        admin.delete(":address") { _, context in
            // The router hands the segment as sent: a+b@example.com arrives as a%2Bb%40example.com.
            let segment = try context.parameters.require("address")
            try await delivery.suppressions.remove(segment.removingPercentEncoding ?? segment, by: try context.user())
            return Response(status: .noContent)
        }
    }

}

extension Present {
    static func suppressionImport(_ report: SuppressionActions.ImportReport) -> JSONValue {
        .object(["added": .number(Double(report.added)), "already_suppressed": .number(Double(report.alreadySuppressed)),
                 "repeated": .number(Double(report.repeated)),
                 "problems": .array(report.problems.map { .object(["line": .string($0.field), "reason": .string($0.reason)]) })])
    }

    static func suppression(_ s: Suppression) -> JSONValue {
        .object(["address": .string(s.address), "reason": .string(s.reason), "detail": s.detail.map(JSONValue.string) ?? .null,
                 "created_at": .string(ISODateTime.format(epochSeconds: s.createdAt))])
    }
}
