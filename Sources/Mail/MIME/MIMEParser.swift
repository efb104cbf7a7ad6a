/// A received message or one of its parts, read leniently: headers unfolded and RFC 2047
/// decoded, the body transfer-decoded, multiparts split and `message/rfc822` parts read as
/// messages of their own.
///
/// Reading never fails: what a sender got wrong (a missing boundary, bad base64, an unknown
/// charset) leaves the readable rest as it is, because a bounce or a reply is worth reading
/// even when the software that wrote it was sloppy.
///
/// ```swift
/// let message = MIMEPart(parsing: receivedBytes)
/// message.header("Subject")                        // "Undelivered Mail Returned to Sender"
/// message.contentType                              // "multipart/report"
/// message.parts.first { $0.contentType == "message/delivery-status" }?.text
/// ```
public struct MIMEPart: Sendable {
    /// The header fields in order, names as written, values unfolded and RFC 2047 decoded.
    public var headers: [(name: String, value: String)]
    /// The body after transfer decoding (for a multipart: what precedes the first part).
    public var body: [UInt8]
    /// The parts of a multipart; for `message/rfc822`, the enclosed message; otherwise empty.
    public var parts: [MIMEPart]

    /// Nesting deeper than this is read as an opaque body: a hostile message cannot make the
    /// reader recurse without end.
    static let maximumDepth = 12

    public init(parsing bytes: some Collection<UInt8>) {
        self.init(bytes: Array(bytes), depth: 0)
    }

    /// Reads only a header block (`text/rfc822-headers`, RFC 6522 §4).
    public init(parsingHeaders bytes: some Collection<UInt8>) {
        self.headers = MIMEParser.headers(ArraySlice(bytes))
        self.body = []
        self.parts = []
    }

    init(bytes: [UInt8], depth: Int) {
        let (head, rawBody) = MIMEParser.split(bytes[...])
        headers = MIMEParser.headers(head)
        parts = []
        body = []
        let (type, parameters) = MIMEParser.contentType(header("Content-Type"))
        let encoding = header("Content-Transfer-Encoding")?.lowercased().trimmingSpaces ?? ""
        if type.hasPrefix("multipart/"), let boundary = parameters["boundary"], !boundary.isEmpty, depth < Self.maximumDepth,
           let (preamble, pieces) = MIMEParser.multipart(rawBody, boundary: boundary) {
            body = Array(preamble)
            parts = pieces.map { MIMEPart(bytes: Array($0), depth: depth + 1) }
        } else if type == "message/rfc822" || type == "message/global", depth < Self.maximumDepth {
            // RFC 2046 §5.2.1: only 7bit, 8bit or binary; some MTAs encode it anyway.
            let decoded = MIMEParser.transferDecode(rawBody, encoding: encoding)
            body = decoded
            parts = [MIMEPart(bytes: decoded, depth: depth + 1)]
        } else {
            body = MIMEParser.transferDecode(rawBody, encoding: encoding)
        }
    }

    /// The first value of the header `name` (case-insensitive), nil when absent.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Every value of the header `name`, in order.
    public func headers(_ name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// `type/subtype` in lower case; `text/plain` when absent (RFC 2045 §5.2).
    public var contentType: String { MIMEParser.contentType(header("Content-Type")).type }

    /// A parameter of the Content-Type (`charset`, `boundary`, `report-type`), name in any case.
    public func contentTypeParameter(_ name: String) -> String? {
        MIMEParser.contentType(header("Content-Type")).parameters[name.lowercased()]
    }

    /// The body as text in its charset (UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 are
    /// known; anything else is read as UTF-8 with replacement characters).
    public var text: String { MIMEParser.decode(body, charset: contentTypeParameter("charset")) }

    /// The header block and the body of a message's bytes, split at the first empty line.
    public static func split(_ bytes: [UInt8]) -> (header: ArraySlice<UInt8>, body: ArraySlice<UInt8>) {
        MIMEParser.split(bytes[...])
    }

    /// This part and every part inside it, depth first.
    public var allParts: [MIMEPart] { [self] + parts.flatMap(\.allParts) }
}

/// The pieces of ``MIMEPart``'s reading.
enum MIMEParser {
    /// Head and body, split at the first empty line (CRLF or bare LF alike).
    static func split(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        var index = bytes.startIndex
        var lineStart = true
        while index < bytes.endIndex {
            if lineStart {
                if bytes[index] == 10 { return (bytes[..<index], bytes[(index + 1)...]) }
                if bytes[index] == 13, index + 1 < bytes.endIndex, bytes[index + 1] == 10 {
                    return (bytes[..<index], bytes[(index + 2)...])
                }
            }
            lineStart = bytes[index] == 10
            index += 1
        }
        return (bytes, bytes[bytes.endIndex...])
    }

    /// Lines of `bytes` without their CR LF or LF.
    static func lines(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        bytes.split(separator: 10, omittingEmptySubsequences: false).map { $0.last == 13 ? $0.dropLast() : $0 }
    }

    /// RFC 5322 §2.2.3: a line beginning with white space continues the field before it.
    /// A line that is neither (no colon) is skipped rather than ending the header block.
    static func headers(_ head: ArraySlice<UInt8>) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        for line in lines(head) {
            guard let first = line.first else { continue }
            if first == 32 || first == 9 {
                if !fields.isEmpty { fields[fields.count - 1].value += " " + latin1OrUTF8(line).trimmingSpaces }
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: line[..<colon], as: UTF8.self).trimmingSpaces
            guard !name.isEmpty, !name.utf8.contains(32) else { continue }
            fields.append((name, latin1OrUTF8(line[(colon + 1)...]).trimmingSpaces))
        }
        return fields.map { ($0.name, decodeEncodedWords($0.value)) }
    }

    /// Header bytes as UTF-8 (RFC 6532) when they are, else as Latin-1, so no byte is lost.
    static func latin1OrUTF8(_ bytes: ArraySlice<UInt8>) -> String {
        String(validating: bytes, as: UTF8.self) ?? String(bytes.map { Character(Unicode.Scalar($0)) })
    }

    /// `type/subtype` (lower case) and its parameters (names lower case, quotes removed).
    ///
    /// Lenient where senders are sloppy: a parameter continued on the next line without its
    /// `;` (`multipart/report; report-type=delivery-status` then ` boundary="x"`) is a
    /// parameter of its own, as is one after the type with no `;` at all; RFC 2231
    /// continuations (`boundary*0=…; boundary*1=…`) are joined and `%XX` in `name*=` decoded.
    static func contentType(_ value: String?) -> (type: String, parameters: [String: String]) {
        guard let value, !value.isEmpty else { return ("text/plain", [:]) }
        // No honest Content-Type comes near this; a hostile one is read no further.
        let bytes = Array(value.utf8.prefix(8192))
        var index = 0
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }
        func isTokenByte(_ byte: UInt8) -> Bool { !isSpace(byte) && byte != UInt8(ascii: ";") && byte != UInt8(ascii: "=") && byte != UInt8(ascii: "\"") }
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        let typeStart = index
        while index < bytes.count, !isSpace(bytes[index]), bytes[index] != UInt8(ascii: ";") { index += 1 }
        let type = String(decoding: bytes[typeStart..<index], as: UTF8.self).lowercased()

        var parameters: [String: String] = [:]
        var sections: [String: [(number: Int, value: String, encoded: Bool)]] = [:]
        while index < bytes.count {
            while index < bytes.count, isSpace(bytes[index]) || bytes[index] == UInt8(ascii: ";") { index += 1 }
            let nameStart = index
            while index < bytes.count, isTokenByte(bytes[index]) { index += 1 }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self).lowercased()
            var look = index
            while look < bytes.count, isSpace(bytes[look]) { look += 1 }
            guard !name.isEmpty, look < bytes.count, bytes[look] == UInt8(ascii: "=") else {
                // Not a parameter: skip the word (or the stray character) and go on.
                if index == nameStart { index += 1 }
                continue
            }
            index = look + 1
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
            var raw: [UInt8] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count { index += 1 }
                    raw.append(bytes[index])
                    index += 1
                }
                index += 1
            } else {
                // A token ends at ";", or at white space that a next "name=" follows. A run of
                // white space is looked past once, as a whole: looking ahead from each of its
                // bytes would take time quadratic in its length.
                while index < bytes.count, bytes[index] != UInt8(ascii: ";") {
                    if isSpace(bytes[index]) {
                        var next = index
                        while next < bytes.count, isSpace(bytes[next]) { next += 1 }
                        var end = next
                        while end < bytes.count, isTokenByte(bytes[end]) { end += 1 }
                        while end < bytes.count, isSpace(bytes[end]) { end += 1 }
                        if end > next, end < bytes.count, bytes[end] == UInt8(ascii: "=") { break }
                        raw += bytes[index..<next]
                        index = next
                        continue
                    }
                    raw.append(bytes[index])
                    index += 1
                }
                while let last = raw.last, isSpace(last) { raw.removeLast() }
            }
            let text = String(decoding: raw, as: UTF8.self)
            if let star = name.firstIndex(of: "*") {
                // RFC 2231: name*, name*0, name*1*, …
                let base = String(name[..<star])
                let suffix = name[name.index(after: star)...]
                let encoded = suffix.hasSuffix("*") || suffix.isEmpty
                let number = Int(suffix.hasSuffix("*") ? suffix.dropLast() : suffix) ?? 0
                if sections[base, default: []].count < 64 { sections[base, default: []].append((number, text, encoded)) }
            } else if parameters[name] == nil {
                parameters[name] = text
            }
        }
        for (base, parts) in sections where parameters[base] == nil {
            var joined: [UInt8] = []
            for (offset, part) in parts.sorted(by: { $0.number < $1.number }).enumerated() {
                var piece = Array(part.value.utf8)
                // The first encoded section starts with charset'language'.
                if part.encoded, offset == 0, let first = piece.firstIndex(of: UInt8(ascii: "'")),
                   let second = piece[(first + 1)...].firstIndex(of: UInt8(ascii: "'")) {
                    piece = Array(piece[(second + 1)...])
                }
                joined += part.encoded ? percentDecoded(piece) : piece
            }
            parameters[base] = latin1OrUTF8(joined[...])
        }
        // A "/" that a combining mark follows is part of another character, and no type has it:
        // `text/\u{301}plain` would neither be "text/…" to `hasPrefix` nor contain a "/".
        return (type.contains { $0 == "/" } ? type : "text/plain", parameters)
    }

    static func percentDecoded(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 65...70: byte - 55
            case 97...102: byte - 87
            default: nil
            }
        }
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    /// RFC 2046 §5.1.1: parts between `--boundary` lines, up to `--boundary--`; a missing
    /// close delimiter ends the last part at the end of the input. Nil when the boundary never
    /// appears: the body is then read as one text, since it is all there is to read (a sloppy
    /// bounce declares a boundary and writes plain text).
    static func multipart(_ body: ArraySlice<UInt8>, boundary: String) -> (preamble: ArraySlice<UInt8>, parts: [ArraySlice<UInt8>])? {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [ArraySlice<UInt8>] = []
        var preambleEnd: Int?
        var partStart: Int?
        var lineStart = body.startIndex
        while lineStart < body.endIndex {
            let newline = body[lineStart...].firstIndex(of: 10) ?? body.endIndex
            let line = body[lineStart..<newline]
            let nextLine = min(newline + 1, body.endIndex)
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                let isClose = rest.starts(with: [45, 45])
                // RFC 2046: the delimiter may be followed only by white space (and CR).
                if isClose || rest.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) {
                    // The CRLF before a delimiter belongs to the delimiter.
                    var end = lineStart
                    if end > body.startIndex, body[end - 1] == 10 { end -= 1 }
                    if end > body.startIndex, body[end - 1] == 13 { end -= 1 }
                    if let start = partStart {
                        parts.append(body[start..<max(start, end)])
                    } else if preambleEnd == nil {
                        preambleEnd = end
                    }
                    if isClose { partStart = nil; break }
                    partStart = nextLine
                }
            }
            lineStart = nextLine
        }
        if let start = partStart, start < body.endIndex { parts.append(body[start...]) }
        guard let preambleEnd else { return nil }
        return (body[..<preambleEnd], parts)
    }

    static func transferDecode(_ body: ArraySlice<UInt8>, encoding: String) -> [UInt8] {
        switch encoding {
        case "base64":
            // Lenient: characters outside the alphabet (a stray line of text) are dropped,
            // and a truncated final group keeps the bytes it has.
            var clean = String(decoding: body.filter { b in
                (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 43 || b == 47
            }, as: UTF8.self)
            if clean.utf8.count % 4 == 1 { clean.removeLast() }
            while clean.utf8.count % 4 != 0 { clean += "=" }
            return Base64.decode(clean) ?? Array(body)
        case "quoted-printable":
            return QuotedPrintable.decode(body)
        default:
            return Array(body)
        }
    }

    /// Text in `charset`; the unknown ones as UTF-8 with replacement characters.
    static func decode(_ bytes: some Collection<UInt8>, charset: String?) -> String {
        switch (charset ?? "utf-8").lowercased().trimmingSpaces {
        // US-ASCII with 8-bit bytes in it is in practice Latin-1; pure ASCII reads the same either way.
        case "iso-8859-1", "latin1", "iso_8859-1",
             "us-ascii" where !bytes.allSatisfy({ $0 < 128 }):
            return String(bytes.map { Character(Unicode.Scalar($0)) })
        case "windows-1252", "cp1252":
            return String(String.UnicodeScalarView(bytes.map { windows1252($0) }))
        default:
            return String(decoding: Array(bytes), as: UTF8.self)
        }
    }

    /// Windows-1252 differs from Latin-1 only in 0x80–0x9F.
    static func windows1252(_ byte: UInt8) -> Unicode.Scalar {
        let high: [UInt32] = [0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
                              0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178]
        if byte >= 0x80 && byte < 0xA0 { return Unicode.Scalar(high[Int(byte - 0x80)])! }
        return Unicode.Scalar(byte)
    }

    /// RFC 2047 encoded-words (`=?charset?B|Q?text?=`) in a header value decoded; the white
    /// space between two adjacent encoded-words is dropped (§6.2). A malformed word stays as written.
    ///
    /// An encoded-word has no white space and, by RFC 2047 §2, at most 75 characters; up to 400
    /// bytes are accepted. The value is read as bytes (every delimiter is ASCII) in one pass:
    /// the first two `?` after a word's `=?` and the `?=` after them only move forward from one
    /// `=?` to the next, so a value full of `=?` stays linear to decode.
    static func decodeEncodedWords(_ value: String) -> String {
        guard value.containsBytes("=?") else { return value }
        let bytes = Array(value.utf8)
        let count = bytes.count
        let question = UInt8(ascii: "?"), equals = UInt8(ascii: "=")
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 }
        // Cursors, each the first position at or after the last one asked for that holds what it
        // looks for (or `count`); they never move back.
        var space = 0, first = 0, second = 0, close = 0
        /// The decoded text and the position after the encoded-word that starts at `start`.
        func encodedWord(at start: Int) -> (String, Int)? {
            let inner = start + 2
            space = max(space, inner)
            while space < count, !isSpace(bytes[space]) { space += 1 }
            first = max(first, inner)
            while first < count, bytes[first] != question { first += 1 }
            guard first < space else { return nil }
            second = max(second, first + 1)
            while second < count, bytes[second] != question { second += 1 }
            guard second < space else { return nil }
            close = max(close, second + 1)
            while close + 1 < count, !(bytes[close] == question && bytes[close + 1] == equals) { close += 1 }
            guard close + 1 < count, close < space, close - inner < 400 else { return nil }
            // RFC 2231 §5: a language may follow the charset after "*".
            let star = UInt8(ascii: "*")
            let charset = String(decoding: bytes[inner..<first].drop { $0 == star }.prefix { $0 != star }, as: UTF8.self)
            let encoding = String(decoding: bytes[(first + 1)..<second], as: UTF8.self).uppercased()
            let payload = bytes[(second + 1)..<close]
            let decoded: [UInt8]
            switch encoding {
            case "B":
                let text = String(decoding: payload, as: UTF8.self)
                guard let data = Base64.decode(text) ?? Base64.decode(text + String(repeating: "=", count: (4 - payload.count % 4) % 4)) else { return nil }
                decoded = data
            case "Q":
                // RFC 2047 §4.2: "_" is a space; otherwise quoted-printable.
                decoded = QuotedPrintable.decode(ArraySlice(payload.map { $0 == UInt8(ascii: "_") ? 32 : $0 }))
            default:
                return nil
            }
            return (decode(decoded, charset: charset), close + 2)
        }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var pendingSpace: [UInt8] = []
        var lastWasEncoded = false
        var index = 0
        while index < count {
            if bytes[index] == equals, index + 1 < count, bytes[index + 1] == question, let (decoded, after) = encodedWord(at: index) {
                if !lastWasEncoded { out += pendingSpace }
                pendingSpace = []
                out += decoded.utf8
                lastWasEncoded = true
                index = after
                continue
            }
            if isSpace(bytes[index]) {
                pendingSpace.append(bytes[index])
            } else {
                out += pendingSpace
                pendingSpace = []
                out.append(bytes[index])
                lastWasEncoded = false
            }
            index += 1
        }
        // Every cut is at an ASCII byte, so the pieces of `value` stay valid UTF-8.
        return String(decoding: out + pendingSpace, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Without spaces, tabs, CRs and LFs at either end. Those are ASCII, so the ends are found
    /// in the UTF-8 and the rest copied as it is, not rebuilt a scalar at a time.
    var trimmingSpaces: String {
        let bytes = utf8
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }
        var start = bytes.startIndex
        while start < bytes.endIndex, isSpace(bytes[start]) { start = bytes.index(after: start) }
        var end = start, index = start
        while index < bytes.endIndex {
            let next = bytes.index(after: index)
            if !isSpace(bytes[index]) { end = next }
            index = next
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Header names are ASCII: compared byte by byte without building lower-case copies.
    func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        for (a, b) in zip(utf8, other.utf8) {
            if a >= 0x80 || b >= 0x80 { return lowercased() == other.lowercased() }
            if a != b, (a | 0x20) != (b | 0x20) || !((a | 0x20) >= 97 && (a | 0x20) <= 122) { return false }
        }
        return true
    }

    /// Whether the UTF-8 of `needle` occurs in this text; byte for byte, without Foundation
    /// (whose `contains` is a locale-aware search), and without copying either when their
    /// bytes are contiguous, as native strings' are: some checks run for every message sent.
    func containsBytes(_ needle: String) -> Bool {
        var needle = needle
        return needle.withUTF8 { pin in
            utf8.withContiguousStorageIfAvailable { hay in ByteSearch.find(pin, in: hay, from: 0, to: hay.count) != nil }
                ?? (ByteSearch.find(Array(pin), in: Array(utf8), from: 0) != nil)
        }
    }
}
