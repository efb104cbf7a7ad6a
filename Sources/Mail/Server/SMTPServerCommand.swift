/// A command received by ``SMTPServer`` (RFC 5321 §4.1), parsed from one line.
public enum SMTPServerCommand: Sendable, Hashable {
    case ehlo(String)
    case helo(String)
    /// Reverse-path (empty for `<>`) and ESMTP parameters such as `SIZE=123`.
    case mailFrom(String, parameters: [String: String])
    case rcptTo(String, parameters: [String: String])
    case data
    case rset
    case noop
    case quit
    case startTLS
    case vrfy
    case help
    case unknown(String)

    /// Parses one command line (without CRLF). Never crashes on hostile input: anything
    /// it cannot read is an error, which the server answers with 501.
    public static func parse(_ line: Substring) throws(MailError) -> SMTPServerCommand {
        let verbEnd = line.firstIndex(of: " ") ?? line.endIndex
        let verb = line[..<verbEnd].uppercased()
        let argument = line[verbEnd...].drop(while: { $0 == " " })
        switch verb {
        case "EHLO", "HELO":
            guard !argument.isEmpty, !argument.contains(" ") else {
                throw MailError(.protocolViolation, "\(verb) needs a domain")
            }
            return verb == "EHLO" ? .ehlo(String(argument)) : .helo(String(argument))
        case "MAIL":
            let (path, parameters) = try parsePath(argument, prefix: "FROM:")
            return .mailFrom(path, parameters: parameters)
        case "RCPT":
            let (path, parameters) = try parsePath(argument, prefix: "TO:")
            guard !path.isEmpty else { throw MailError(.protocolViolation, "RCPT TO needs an address") }
            return .rcptTo(path, parameters: parameters)
        case "DATA": return .data
        case "RSET": return .rset
        case "NOOP": return .noop
        case "QUIT": return .quit
        case "STARTTLS": return .startTLS
        case "VRFY": return .vrfy
        case "HELP": return .help
        default: return .unknown(String(verb.prefix(16)))
        }
    }

    /// `FROM:<path> KEY=VALUE …`; RFC 5321 §4.1.2 (some clients put a space after the colon).
    static func parsePath(_ argument: Substring, prefix: String) throws(MailError) -> (String, [String: String]) {
        guard argument.uppercased().hasPrefix(prefix) else {
            throw MailError(.protocolViolation, "expected \(prefix)<address>")
        }
        var rest = argument.dropFirst(prefix.count).drop(while: { $0 == " " })
        guard rest.first == "<", let close = rest.firstIndex(of: ">") else {
            throw MailError(.protocolViolation, "the address must be in angle brackets")
        }
        var path = rest[rest.index(after: rest.startIndex)..<close]
        // RFC 5321 §4.1.2: a source route "@a,@b:user@host" is accepted and ignored.
        if path.first == "@", let colon = path.firstIndex(of: ":") { path = path[path.index(after: colon)...] }
        guard path.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value != 127 && $0 != "<" }), path.utf8.count <= 256 else {
            throw MailError(.protocolViolation, "the address has characters that are not allowed")
        }
        if !path.isEmpty, !path.contains("@") {
            // RFC 5321 §4.1.1.3: <postmaster> alone is allowed as a recipient.
            guard path.lowercased() == "postmaster" else { throw MailError(.protocolViolation, "the address has no domain") }
        }
        rest = rest[rest.index(after: close)...]
        var parameters: [String: String] = [:]
        for word in rest.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            parameters[parts[0].uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
        return (String(path), parameters)
    }
}
