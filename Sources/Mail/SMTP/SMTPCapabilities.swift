/// What a server announced in its EHLO reply (RFC 5321 §4.1.1.1). Empty after HELO.
public struct SMTPCapabilities: Sendable, Hashable {
    /// RFC 2920: commands may be sent in groups without waiting for each reply.
    public var pipelining = false
    /// RFC 3207.
    public var startTLS = false
    /// RFC 1870: the largest message the server takes; nil when not announced, 0 when unlimited.
    public var maximumSize: Int?
    /// RFC 6152.
    public var eightBitMIME = false
    /// RFC 6531.
    public var smtpUTF8 = false
    /// RFC 2034.
    public var enhancedStatusCodes = false
    /// RFC 4954: upper-cased SASL mechanism names.
    public var authMechanisms: [String] = []
    /// Every keyword line as sent, first word upper-cased.
    public var keywords: [String: String] = [:]

    public init() {}

    /// Reads the lines of a 250 reply to EHLO; the first line is the server's greeting.
    public init(ehloReply reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { continue }
            // Some old servers announce "AUTH=LOGIN PLAIN" (pre-RFC 4954 syntax).
            var keyword = first.uppercased()
            var parameters = words.dropFirst().map(String.init)
            if keyword.hasPrefix("AUTH=") {
                parameters.insert(String(keyword.dropFirst(5)), at: 0)
                keyword = "AUTH"
            }
            keywords[keyword] = parameters.joined(separator: " ")
            switch keyword {
            case "PIPELINING": pipelining = true
            case "STARTTLS": startTLS = true
            case "SIZE": maximumSize = parameters.first.flatMap { Int($0) } ?? 0
            case "8BITMIME": eightBitMIME = true
            case "SMTPUTF8": smtpUTF8 = true
            case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
            case "AUTH":
                for mechanism in parameters.map({ $0.uppercased() }) where !authMechanisms.contains(mechanism) {
                    authMechanisms.append(mechanism)
                }
            default: break
            }
        }
    }
}
