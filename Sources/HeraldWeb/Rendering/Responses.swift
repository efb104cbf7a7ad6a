import Foundation
import Hummingbird
import HeraldCore

/// An HTML page as a response.
struct HTMLResponse: ResponseGenerator {
    var html: String
    var status: HTTPResponse.Status = .ok

    var response: Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func response(from request: Request, context: some RequestContext) throws -> Response { response }
}

/// JSON responses with Herald's encoder settings (sorted keys, ISO dates, snake_case names in the types).
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

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

/// Reads JSON bodies with errors that say where the JSON is wrong.
enum JSONBody {
    /// Reads a JSON body: `Content-Type: application/json` (or `…+json`), UTF-8, each key once
    /// an object (415 for another type, 400 for unreadable JSON, 422 for wrong values).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: AppRequestContext) async throws -> T {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard let mediaType, mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
            throw HeraldError(.unsupportedMediaType, "send the body as JSON, with Content-Type: application/json"
                              + (mediaType.map { ", not \($0.prefix(100))" } ?? ""))
        }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        guard body.readableBytes > 0 else { throw HeraldError(.malformed, "the request body is empty; send JSON") }
        let bytes = Array(body.readableBytesView)
        if let problem = JSONSyntaxCheck.problem(bytes) { throw HeraldError(.malformed, "the body is not valid JSON: \(problem)") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as HeraldError {
            throw error
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw HeraldError(.malformed, "the body is not valid JSON: \(context.debugDescription)")
        } catch let error as DecodingError {
            throw HeraldError.invalid([JSONBody.problem(error)])
        }
    }

    static func problem(_ error: DecodingError) -> Problem {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let c): return Problem(field: path(c.codingPath + [key]), reason: "is required")
        case .typeMismatch(let type, let c): return Problem(field: path(c.codingPath), reason: "must be \(JSONBody.describe(type))")
        case .valueNotFound(let type, let c): return Problem(field: path(c.codingPath), reason: "must be \(JSONBody.describe(type)), not null")
        case .dataCorrupted(let c): return Problem(field: path(c.codingPath), reason: c.debugDescription)
        @unknown default: return Problem(field: "", reason: "\(error)")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Double.Type: "a number"
        case is [Any].Type: "a list"
        default: "\(type)"
        }
    }
}

import NIOCore
import NIOFoundationCompat
