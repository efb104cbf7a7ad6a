import HeraldDelivery

/// An HTTP/1 request head read straight from the connection's bytes, for
/// ``TrackingFastPath``: only the plainest requests for the open pixel or the trap link are
/// taken (`GET` or `HEAD`, no body, no upgrade, well-formed lines ending in CRLF). Anything
/// else is `other`, and its bytes go on to the HTTP/1 decoder, which answers it the way it
/// answers every request (a malformed one with its 400), so this reader never has to judge
/// input it does not fully understand.
struct TrackingRequestHead: Equatable {
    enum Parse: Equatable {
        /// The head is not complete yet; more bytes may make it a tracking request.
        case incomplete
        /// Not for the fast path: hand this and every later byte of the connection on.
        case other
        /// A whole head of `length` bytes, the request's bytes without a body.
        case tracking(TrackingRequestHead, length: Int)
    }

    var isHead: Bool
    /// The request target, `/t/o/<token>?…`, as it came.
    var target: String
    var userAgent: String?
    /// False when the answer ends the connection (`Connection: close`, or HTTP/1.0 without
    /// `keep-alive`).
    var keepAlive: Bool
    /// HTTP/1.0 keeps the connection only when asked, and is told that it was.
    var isHTTP10: Bool

    /// The most a head may take before it is given to the decoder (which has its own limits).
    static let limit = 8_192

    /// How a tracking request starts; bytes that cannot begin one of these go on at once.
    private static let starts = ["GET ", "HEAD "].flatMap { method in
        [EngagementLinks.Path.open, EngagementLinks.Path.trap].map { Array((method + $0).utf8) }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Parse {
        guard starts.contains(where: { start in zip(start, bytes).allSatisfy { $0 == $1 } }) else { return .other }
        guard let end = headEnd(bytes) else { return bytes.count > limit ? .other : .incomplete }
        var lines = Lines(bytes: bytes[..<end])
        guard let requestLine = lines.next() else { return .other }
        let isHead = requestLine.first == UInt8(ascii: "H")
        let methodEnd = requestLine.startIndex + (isHead ? 5 : 4)
        guard let targetEnd = requestLine[methodEnd...].firstIndex(of: UInt8(ascii: " ")) else { return .other }
        let target = requestLine[methodEnd..<targetEnd]
        // Only visible ASCII in a target; anything else is the decoder's to refuse.
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .other }
        let version = requestLine[(targetEnd + 1)...]
        let isHTTP10: Bool
        if version.elementsEqual("HTTP/1.1".utf8) { isHTTP10 = false } else if version.elementsEqual("HTTP/1.0".utf8) { isHTTP10 = true } else {
            return .other
        }
        var userAgent: String?
        var close = false
        var keepAliveAsked = false
        while let line = lines.next() {
            guard let field = Field(line) else { return .other }
            switch field.name {
            case .contentLength:
                guard field.value.elementsEqual("0".utf8) else { return .other }
            case .transferEncoding, .upgrade, .expect:
                return .other
            case .connection:
                for token in field.value.split(separator: UInt8(ascii: ",")) {
                    let token = token.trimmed
                    if token.equalsIgnoringCase("close") { close = true }
                    if token.equalsIgnoringCase("keep-alive") { keepAliveAsked = true }
                }
            case .userAgent:
                if userAgent == nil { userAgent = String(decoding: field.value, as: UTF8.self) }
            case .other:
                break
            }
        }
        guard lines.wellFormed else { return .other }
        let head = TrackingRequestHead(isHead: isHead, target: String(decoding: target, as: UTF8.self), userAgent: userAgent,
                                       keepAlive: !close && (!isHTTP10 || keepAliveAsked), isHTTP10: isHTTP10)
        return .tracking(head, length: end + 4)
    }

    /// Where the blank line that ends the head begins (the index of its `\r\n\r\n`).
    private static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = 0
        while let lf = bytes[(i + 3)...].firstIndex(of: UInt8(ascii: "\n")) {
            if bytes[lf - 3] == 0x0D, bytes[lf - 2] == 0x0A, bytes[lf - 1] == 0x0D { return lf - 3 }
            i = lf - 2
        }
        return nil
    }
}

/// The lines of a head without its final blank line, split at CRLF; a bare CR or LF, or a
/// folded line (one starting with a space or a tab), ends the reading as not well-formed.
private struct Lines {
    var bytes: Slice<UnsafeRawBufferPointer>?
    private(set) var wellFormed = true

    init(bytes: Slice<UnsafeRawBufferPointer>) { self.bytes = bytes }

    mutating func next() -> Slice<UnsafeRawBufferPointer>? {
        guard wellFormed, let rest = bytes else { return nil }
        var line = rest
        if let lf = rest.firstIndex(of: UInt8(ascii: "\n")) {
            line = rest[..<lf]
            bytes = rest[(lf + 1)...]
            guard line.last == 0x0D else { return malformed() }
            line = line.dropLast()
        } else {
            // The last line: the head's `\r\n\r\n` follows it.
            bytes = nil
        }
        guard line.first != 0x20, line.first != 0x09, !line.contains(0x0D) else { return malformed() }
        return line
    }

    private mutating func malformed() -> Slice<UnsafeRawBufferPointer>? {
        wellFormed = false
        return nil
    }
}

private extension Slice<UnsafeRawBufferPointer> {
    var trimmed: Slice<UnsafeRawBufferPointer> {
        var slice = self
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return slice
    }

    /// Compares with lower-case ASCII `text`, ignoring the case of letters only.
    func equalsIgnoringCase(_ text: StaticString) -> Bool {
        text.withUTF8Buffer { lower in
            count == lower.count && zip(self, lower).allSatisfy { byte, expected in
                byte == expected || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") && byte | 0x20 == expected)
            }
        }
    }
}

/// One header line, `name: value`, with the names the fast path cares about told apart.
private struct Field {
    enum Name { case contentLength, transferEncoding, upgrade, expect, connection, userAgent, other }

    let name: Name
    let value: Slice<UnsafeRawBufferPointer>

    /// Nil when the line is not a well-formed field: a folded line, a name with a byte a
    /// token may not hold, or a control byte in the value.
    init?(_ line: Slice<UnsafeRawBufferPointer>) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return nil }
        let name = line[..<colon]
        guard name.allSatisfy(Self.isTokenByte) else { return nil }
        let value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { return nil }
        self.value = value.trimmed
        self.name = if name.equalsIgnoringCase("content-length") { .contentLength }
            else if name.equalsIgnoringCase("transfer-encoding") { .transferEncoding }
            else if name.equalsIgnoringCase("upgrade") { .upgrade }
            else if name.equalsIgnoringCase("expect") { .expect }
            else if name.equalsIgnoringCase("connection") { .connection }
            else if name.equalsIgnoringCase("user-agent") { .userAgent }
            else { .other }
    }

    /// RFC 9110's tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
