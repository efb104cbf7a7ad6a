/// One thing wrong with an input: where (`email`, `criteria.all[2].value`, `row 14: email`) and why.
public struct Problem: Error, Sendable, Codable, Hashable, CustomStringConvertible {
    /// The path of the offending input, as the user named it.
    public var field: String
    /// What is wrong, in words a user can act on.
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }
}

/// The one error type that both the JSON API and the web pages render.
///
/// ```swift
/// throw HeraldError.invalid([Problem(field: "email", reason: "not an email address")])
/// ```
public struct HeraldError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; the web layer maps it to an HTTP status.
    public enum Kind: String, Sendable, Codable {
        /// The input is malformed or breaks a rule (HTTP 422, or 400 for unreadable bodies).
        case invalid
        /// The request body could not be read at all (HTTP 400).
        case malformed
        /// A named thing does not exist, or the caller may not see it (HTTP 404).
        case notFound
        /// The change conflicts with what is stored, e.g. a duplicate name (HTTP 409).
        case conflict
        /// The caller is not allowed to do this (HTTP 403).
        case forbidden
        /// The caller is not authenticated (HTTP 401).
        case unauthorized
        /// A server Herald relies on, such as the SMTP relay, failed or refused (HTTP 502).
        case upstream
        /// The body is not of a type the call reads, e.g. not JSON (HTTP 415).
        case unsupportedMediaType = "unsupported_media_type"
        /// The caller did this too often; `retryAfter` says when it may again (HTTP 429).
        case tooManyRequests = "too_many_requests"
        /// The address exists, but not for this method (HTTP 405, with the methods it takes).
        case methodNotAllowed = "method_not_allowed"
    }

    public var kind: Kind
    public var message: String
    public var problems: [Problem]
    /// Seconds until the call may succeed again (`Retry-After`), for ``Kind/tooManyRequests``.
    public var retryAfter: Int64?

    public init(_ kind: Kind, _ message: String, problems: [Problem] = []) {
        self.kind = kind
        self.message = message
        self.problems = problems
    }

    /// An input that breaks one or more rules; the message summarises the problems.
    public static func invalid(_ problems: [Problem]) -> HeraldError {
        HeraldError(.invalid, problems.map(\.description).joined(separator: "; "), problems: problems)
    }

    public static func invalid(field: String, _ reason: String) -> HeraldError {
        invalid([Problem(field: field, reason: reason)])
    }

    public static func notFound(_ message: String) -> HeraldError { HeraldError(.notFound, message) }
    public static func conflict(_ message: String, problems: [Problem] = []) -> HeraldError {
        HeraldError(.conflict, message, problems: problems)
    }
    public static func forbidden(_ message: String) -> HeraldError { HeraldError(.forbidden, message) }
    public static func upstream(_ message: String) -> HeraldError { HeraldError(.upstream, message) }
    public static func tooManyRequests(_ message: String, retryAfter: Int64) -> HeraldError {
        var error = HeraldError(.tooManyRequests, message)
        error.retryAfter = retryAfter
        return error
    }

    public var description: String { message }
}

/// Collects problems so that a caller reports every bad field at once, not the first.
public struct ProblemList: Sendable {
    public private(set) var problems: [Problem] = []
    public init() {}
    public mutating func add(_ field: String, _ reason: String) {
        problems.append(Problem(field: field, reason: reason))
    }
    public mutating func add(_ problem: Problem) { problems.append(problem) }
    public mutating func add(contentsOf other: [Problem]) { problems.append(contentsOf: other) }
    public var isEmpty: Bool { problems.isEmpty }
    /// Throws ``HeraldError/invalid(_:)`` when anything was collected.
    public func check() throws {
        if !problems.isEmpty { throw HeraldError.invalid(problems) }
    }
}
