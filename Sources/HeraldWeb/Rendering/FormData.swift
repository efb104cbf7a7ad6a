import Foundation
import Hummingbird
import HeraldCore
import NIOCore
import NIOFoundationCompat

/// Fields of an `application/x-www-form-urlencoded` body or query string, in order, repeats kept.
struct FormData: Sendable {
    var pairs: [(String, String)]

    init(_ text: String) {
        pairs = text.split(separator: "&", omittingEmptySubsequences: true).map { part in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
        }
    }

    /// The first value of `key`.
    subscript(_ key: String) -> String? { pairs.first { $0.0 == key }?.1 }

    /// Every value of `key`, for repeated fields such as checkboxes.
    func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }
    /// Each field's last value.
    var dictionary: [String: String] { Dictionary(pairs, uniquingKeysWith: { _, last in last }) }

    /// Reads a request's form body, at most `limit` bytes of it (413 beyond).
    static func read(_ request: Request, context: AppRequestContext, limit: Int? = nil) async throws -> FormData {
        // Only the CSV upload reads multipart bodies, and checks their CSRF field as it does.
        if request.headers[.contentType]?.lowercased().hasPrefix("multipart/") == true {
            throw HeraldError(.unsupportedMediaType, "send this form as application/x-www-form-urlencoded")
        }
        var request = request
        let body = try await request.collectBody(upTo: limit ?? context.maxUploadSize)
        return FormData(String(buffer: body))
    }
}
