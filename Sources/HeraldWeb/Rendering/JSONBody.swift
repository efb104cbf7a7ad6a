import Foundation
import Hummingbird
import HeraldCore
import NIOCore
import NIOFoundationCompat

/// The media types a CSV body may come as: CSV's own, and what tools send for a file they do
/// not know (plain text, bytes, Excel's); none at all is taken too.
enum CSVBody {
    static let mediaTypes: Set<String> = ["text/csv", "application/csv", "text/comma-separated-values", "text/plain",
                                          "application/octet-stream", "application/vnd.ms-excel"]

    /// 415 for a body that says it is something else (JSON, a form): its bytes would be read
    /// as rows, and the answer would be about a header that was never meant as one.
    static func checkMediaType(of request: Request) throws {
        guard let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased(),
              !mediaType.isEmpty, !mediaTypes.contains(mediaType) else { return }
        throw HeraldError(.unsupportedMediaType, "send the CSV file itself as the body, with Content-Type: text/csv, not \(mediaType.prefix(100))")
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
