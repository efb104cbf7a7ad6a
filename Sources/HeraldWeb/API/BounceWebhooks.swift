import Crypto
import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore
import Logging

/// `POST /webhooks/{ses|postmark|sendgrid|mailgun}`: email providers' bounce, complaint and
/// delivery events, recorded like the bounces the inbound listener reads.
///
/// Each provider is authenticated by the secret an admin set for it, given as the password of
/// HTTP basic auth (`https://herald:SECRET@host/webhooks/ses`, which SNS, Postmark, SendGrid
/// and Mailgun all support) or in an `X-Herald-Webhook-Secret` header. Not in the query string:
/// request URIs are logged. A missing or wrong secret, or a provider with none set, gets a bare 401.
struct BounceWebhooks {
    let store: Store
    let delivery: Delivery
    let logger: Logger

    func register(on router: Router<AppRequestContext>) {
        let hooks = router.group("webhooks")
        for provider in MailSettings.providers {
            hooks.post(RouterPath(provider)) { request, context in
                try await receive(provider, request: request, context: context)
            }
        }
    }

    func receive(_ provider: String, request: Request, context: AppRequestContext) async throws -> Response {
        guard try await authenticated(provider, request) else {
            return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"herald webhooks\""])
        }
        var request = request
        let buffer = try await request.collectBody(upTo: 5 * 1024 * 1024)
        let raw = String(buffer: buffer)
        guard let body = try? JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8)) else {
            throw HeraldError(.malformed, "the body is not valid JSON")
        }
        let events: [ProviderEvent]
        switch provider {
        case "ses":
            switch try ProviderEvents.ses(body) {
            case .events(let found):
                events = found
            case .subscriptionConfirmation(let url):
                // Only an https URL of Amazon's is shown to the admin as a link.
                guard let parsed = URL(string: url), parsed.scheme == "https", let host = parsed.host, host.hasSuffix(".amazonaws.com") else {
                    throw HeraldError.invalid(field: "SubscribeURL", "not an https URL of amazonaws.com")
                }
                // Herald fetches no URL named in a request; the admin confirms once by opening it.
                try await store.settings.set("webhooks.ses.subscribe_url", to: url)
                logger.notice("SNS asks to confirm the SES webhook subscription: open the SubscribeURL shown on Admin → Mail delivery")
                return JSONResponse.make(JSONValue.object(["recorded": .number(0), "subscription": .string("confirm by opening the SubscribeURL")]))
            }
        case "postmark": events = try ProviderEvents.postmark(body)
        case "sendgrid": events = try ProviderEvents.sendgrid(body)
        default: events = try ProviderEvents.mailgun(body)
        }
        let recorded = try await delivery.bounces.record(events, source: provider, now: WallClock.epochSeconds())
        return JSONResponse.make(JSONValue.object(["recorded": .number(Double(recorded.count))]))
    }

    /// Whether the request carries the provider's secret; compared in constant time.
    func authenticated(_ provider: String, _ request: Request) async throws -> Bool {
        guard let secret = try await store.settings.value(SettingsStore.webhookSecretKey(provider)), !secret.isEmpty else { return false }
        var given: [String] = []
        if let header = request.headers.first(where: { $0.name.canonicalName == "x-herald-webhook-secret" })?.value { given.append(header) }
        if let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("basic "),
           let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
           let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") {
            given.append(String(text[text.index(after: colon)...]))
        }
        let expected = Array(SHA256.hash(data: Data(secret.utf8)))
        // Hashing both sides first makes the comparison's length and time independent of the guess.
        return given.contains { candidate in
            zip(Array(SHA256.hash(data: Data(candidate.utf8))), expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}
