import NIOCore

/// A command the client sends (RFC 5321 §4.1). ``description`` never shows credentials.
public enum SMTPCommand: Sendable, Hashable, CustomStringConvertible {
    case ehlo(String)
    case helo(String)
    case startTLS
    /// `AUTH mechanism [initial-response]`; the response is already base64.
    case auth(mechanism: String, initialResponse: String?)
    /// A line answering a 334 challenge, already base64 (or empty, to cancel/finish).
    case authResponse(String)
    /// `MAIL FROM:<path> params`; an empty path is the null reverse-path `<>`.
    case mailFrom(String, parameters: [String])
    case rcptTo(String)
    case data
    /// The message, already CRLF-normalised and dot-stuffed, ending in `CRLF.CRLF`.
    case messageBody(ByteBuffer)
    case rset
    case noop
    case quit

    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .ehlo(let name): buffer.writeString("EHLO \(name)\r\n")
        case .helo(let name): buffer.writeString("HELO \(name)\r\n")
        case .startTLS: buffer.writeString("STARTTLS\r\n")
        case .auth(let mechanism, let initial):
            buffer.writeString("AUTH \(mechanism)")
            if let initial { buffer.writeString(" \(initial.isEmpty ? "=" : initial)") }
            buffer.writeString("\r\n")
        case .authResponse(let line): buffer.writeString("\(line)\r\n")
        case .mailFrom(let path, let parameters):
            buffer.writeString("MAIL FROM:<\(path)>")
            for parameter in parameters { buffer.writeString(" \(parameter)") }
            buffer.writeString("\r\n")
        case .rcptTo(let path): buffer.writeString("RCPT TO:<\(path)>\r\n")
        case .data: buffer.writeString("DATA\r\n")
        case .messageBody(var body): buffer.writeBuffer(&body)
        case .rset: buffer.writeString("RSET\r\n")
        case .noop: buffer.writeString("NOOP\r\n")
        case .quit: buffer.writeString("QUIT\r\n")
        }
    }

    public var description: String {
        switch self {
        case .ehlo(let name): "EHLO \(name)"
        case .helo(let name): "HELO \(name)"
        case .startTLS: "STARTTLS"
        case .auth(let mechanism, let initial): initial == nil ? "AUTH \(mechanism)" : "AUTH \(mechanism) <redacted>"
        case .authResponse: "<redacted>"
        case .mailFrom(let path, let parameters): (["MAIL FROM:<\(path)>"] + parameters).joined(separator: " ")
        case .rcptTo(let path): "RCPT TO:<\(path)>"
        case .data: "DATA"
        case .messageBody(let body): "<message body, \(body.readableBytes) bytes>"
        case .rset: "RSET"
        case .noop: "NOOP"
        case .quit: "QUIT"
        }
    }
}
