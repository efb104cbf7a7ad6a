/// Turns bytes from an SMTP server into ``SMTPReply`` values, incrementally.
///
/// RFC 5321 §4.2.1: a multi-line reply repeats the code on every line with `-` after it,
/// and its last line has a space (or nothing: a bare `250` is a complete reply). Every line
/// of one reply must carry the same code. Lines are bounded (RFC 5321 §4.5.3.1.5 allows 512
/// octets; we accept up to ``maximumLineLength`` to tolerate chatty servers) and so is the
/// number of lines in one reply, so a hostile server cannot make us buffer without end.
///
/// Plain Swift with no NIO types, so that the fuzz target can build it alone.
public struct SMTPReplyParser: Sendable {
    /// The longest reply line accepted, without its line ending.
    public var maximumLineLength: Int
    /// The most lines one reply may have.
    public var maximumLinesPerReply: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for the next LF resumes, so bytes are scanned once.
    private var scanIndex = 0
    private var pending: (code: Int, enhanced: EnhancedStatusCode?, lines: [String])?

    public init(maximumLineLength: Int = 4096, maximumLinesPerReply: Int = 512) {
        self.maximumLineLength = maximumLineLength
        self.maximumLinesPerReply = maximumLinesPerReply
        self.pending = nil
    }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if readIndex > 4096 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Whether bytes are buffered that do not yet form a complete reply.
    public var hasBufferedBytes: Bool { readIndex < buffer.count || pending != nil }

    /// Throws away everything buffered. RFC 3207 §5 / CVE-2011-0411: bytes that arrive
    /// after the 220 reply to STARTTLS but before the handshake must not be believed.
    public mutating func discardBufferedBytes() {
        buffer.removeAll()
        readIndex = 0
        scanIndex = 0
        pending = nil
    }

    /// The next complete reply, or nil when more bytes are needed.
    public mutating func next() throws(MailError) -> SMTPReply? {
        while let line = try nextLine() {
            if let reply = try consume(line: line) { return reply }
        }
        return nil
    }

    private mutating func nextLine() throws(MailError) -> ArraySlice<UInt8>? {
        guard let newline = buffer[scanIndex...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanIndex = buffer.count
            if buffer.count - readIndex > maximumLineLength + 1 {
                throw MailError(.protocolViolation, "reply line longer than \(maximumLineLength) bytes")
            }
            return nil
        }
        var end = newline
        // Lenient on input: a bare LF ends a line as well as CRLF does.
        if end > readIndex && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = buffer[readIndex..<end]
        readIndex = newline + 1
        scanIndex = readIndex
        if line.count > maximumLineLength {
            throw MailError(.protocolViolation, "reply line longer than \(maximumLineLength) bytes")
        }
        return line
    }

    private mutating func consume(line: ArraySlice<UInt8>) throws(MailError) -> SMTPReply? {
        let start = line.startIndex
        guard line.count >= 3,
              (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(line[start]),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[start + 1]),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[start + 2])
        else {
            throw MailError(.protocolViolation, "reply line does not start with a reply code",
                            context: ["line": Self.printable(Array(line))])
        }
        let code = Int(line[start] - 48) * 100 + Int(line[start + 1] - 48) * 10 + Int(line[start + 2] - 48)
        let isLast: Bool
        if line.count == 3 {
            isLast = true
        } else if line[start + 3] == UInt8(ascii: " ") {
            isLast = true
        } else if line[start + 3] == UInt8(ascii: "-") {
            isLast = false
        } else {
            throw MailError(.protocolViolation, "reply code followed by neither space nor hyphen",
                            context: ["line": Self.printable(Array(line))])
        }
        var textBytes = line.count > 4 ? line[(start + 4)...] : line[line.endIndex...]
        var enhanced: EnhancedStatusCode?
        // RFC 2034 §4: the enhanced code leads the text, and its class matches the reply's.
        // Read from the bytes, so that the common reply makes one String, not several.
        let wordEnd = textBytes.firstIndex(of: UInt8(ascii: " ")) ?? textBytes.endIndex
        if let candidate = EnhancedStatusCode(textBytes[textBytes.startIndex..<wordEnd]), candidate.statusClass == code / 100 {
            enhanced = candidate
            textBytes = textBytes[wordEnd...].drop(while: { $0 == UInt8(ascii: " ") })
        }
        let text = String(decoding: textBytes, as: UTF8.self)
        if pending != nil {
            guard pending!.code == code else {
                let first = pending!.code
                pending = nil
                throw MailError(.protocolViolation, "multi-line reply changed its code from \(first) to \(code)")
            }
            pending!.lines.append(text)
            guard pending!.lines.count <= maximumLinesPerReply else {
                pending = nil
                throw MailError(.protocolViolation, "reply has more than \(maximumLinesPerReply) lines")
            }
        } else {
            pending = (code, enhanced, [text])
        }
        guard isLast, let done = pending else { return nil }
        pending = nil
        return SMTPReply(code: done.code, enhancedCode: done.enhanced, lines: done.lines)
    }

    static func printable(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(80), as: UTF8.self).unicodeScalars.map {
            $0.value < 32 || $0.value == 127 ? "\\u{\(String($0.value, radix: 16))}" : String($0)
        }.joined()
    }
}
