/// One part of a compiled template (subject, HTML or text) as a small program over bytes: the
/// slot-numbered Mustache text that ``CompiledTemplate`` makes (`{{s3}}`, `{{#s4}}…{{/s4}}`,
/// `{{^s4}}…{{/s4}}`, `{{! note }}`) parsed once, then rendered per recipient straight into
/// bytes.
///
/// Why not swift-mustache's renderer: it looks every value up through `Any` and escapes HTML
/// one `Character` at a time through a dictionary, which was a fifth of a mass email's CPU.
/// The merge syntax stays Mustache's (checked by ``MergeTagScanner``); this parser follows
/// swift-mustache's own rules for whitespace, standalone lines included, so a template
/// renders the same either way. `MergeProgramTests` compares the two on generated templates.
struct MergeProgram: Sendable {
    enum Node: Sendable {
        case text([UInt8])
        case value(Int)
        case section(Int, inverted: Bool, body: [Node])
    }

    /// A slot's value at render time.
    enum Value: Sendable {
        case text(String)
        case flag(Bool)
        case absent
    }

    let nodes: [Node]
    /// HTML-escape values (the HTML part); the subject and the text take them as they are.
    let escapes: Bool

    /// Parses the slot-numbered text; nil when it is not the subset ``CompiledTemplate`` writes.
    init?(_ source: String, escapes: Bool) {
        var reader = Reader(Array(source.utf8))
        guard let nodes = Self.parse(&reader, newLine: true, section: nil) else { return nil }
        self.nodes = nodes
        self.escapes = escapes
    }

    func render(_ values: [Value]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        render(nodes, values, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func render(_ nodes: [Node], _ values: [Value], into out: inout [UInt8]) {
        for node in nodes {
            switch node {
            case .text(let bytes):
                out.append(contentsOf: bytes)
            case .value(let slot):
                guard case .text(let text) = values[slot] else { continue }
                if escapes { Self.escape(text, into: &out) } else { out.append(contentsOf: text.utf8) }
            case .section(let slot, let inverted, let body):
                let truthy: Bool = switch values[slot] {
                case .flag(let on): on
                case .text(let text): !text.isEmpty
                case .absent: false
                }
                if truthy != inverted { render(body, values, into: &out) }
            }
        }
    }

    /// HTML escaping as swift-mustache does it: `& < > " '`.
    static func escape(_ text: String, into out: inout [UInt8]) {
        // Runs between the bytes to escape are copied whole: appending byte by byte was most of
        // the cost of every message's merge values and tracked links.
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in 0..<bytes.count {
                let entity: StaticString
                switch bytes[index] {
                case UInt8(ascii: "&"): entity = "&amp;"
                case UInt8(ascii: "<"): entity = "&lt;"
                case UInt8(ascii: ">"): entity = "&gt;"
                case UInt8(ascii: "\""): entity = "&quot;"
                case UInt8(ascii: "'"): entity = "&#39;"
                default: continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                entity.withUTF8Buffer { out.append(contentsOf: $0) }
                start = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
    }

    // MARK: Parsing, after swift-mustache's `MustacheTemplate.parse`

    private static func parse(_ r: inout Reader, newLine startsLine: Bool, section: Int?) -> [Node]? {
        var nodes: [Node] = []
        var newLine = startsLine
        var whitespace: [UInt8] = []
        while !r.atEnd {
            if newLine { whitespace = r.readSpaces() }
            let (text, lineEnd, tag) = r.readUntilTagOrNewline()
            if let lineEnd {
                nodes.append(.text(whitespace + text + lineEnd))
                newLine = true
                continue
            }
            if !text.isEmpty {
                nodes.append(.text(whitespace + text))
                whitespace = []
                newLine = false
            }
            guard tag else { break }
            var setNewLine = false
            switch r.peek {
            case UInt8(ascii: "#"), UInt8(ascii: "^"):
                let inverted = r.peek == UInt8(ascii: "^")
                r.advance()
                guard let slot = r.readSlotAndClose() else { return nil }
                if newLine && r.lineFinished() {
                    setNewLine = true
                } else if !whitespace.isEmpty {
                    nodes.append(.text(whitespace))
                    whitespace = []
                }
                guard let body = parse(&r, newLine: setNewLine, section: slot) else { return nil }
                nodes.append(.section(slot, inverted: inverted, body: body))
            case UInt8(ascii: "/"):
                r.advance()
                guard let slot = r.readSlotAndClose(), slot == section else { return nil }
                if !(newLine && r.lineFinished()), !whitespace.isEmpty {
                    nodes.append(.text(whitespace))
                }
                return nodes
            case UInt8(ascii: "!"):
                guard r.skipPastClose() else { return nil }
                setNewLine = newLine && r.lineFinished()
            default:
                if !whitespace.isEmpty {
                    nodes.append(.text(whitespace))
                    whitespace = []
                }
                guard let slot = r.readSlotAndClose() else { return nil }
                nodes.append(.value(slot))
            }
            newLine = setNewLine
        }
        return section == nil ? nodes : nil
    }

    private struct Reader {
        let bytes: [UInt8]
        var i = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { i >= bytes.count }
        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }
        mutating func advance() { i += 1 }

        mutating func readSpaces() -> [UInt8] {
            let start = i
            while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
            return Array(bytes[start..<i])
        }

        /// Text up to a line end (returned, and passed) or past a `{{` (tag true), or to the end.
        mutating func readUntilTagOrNewline() -> (text: [UInt8], lineEnd: [UInt8]?, tag: Bool) {
            let start = i
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\n"):
                    defer { i += 1 }
                    return (Array(bytes[start..<i]), [UInt8(ascii: "\n")], false)
                case UInt8(ascii: "\r") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n"):
                    defer { i += 2 }
                    return (Array(bytes[start..<i]), [UInt8(ascii: "\r"), UInt8(ascii: "\n")], false)
                case UInt8(ascii: "{") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "{"):
                    defer { i += 2 }
                    return (Array(bytes[start..<i]), nil, true)
                default:
                    i += 1
                }
            }
            return (Array(bytes[start..<i]), nil, false)
        }

        /// `sN}}`: the slot number, past the closing braces.
        mutating func readSlotAndClose() -> Int? {
            guard peek == UInt8(ascii: "s") else { return nil }
            i += 1
            var n = 0
            var digits = 0
            while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                n = n * 10 + Int(c - UInt8(ascii: "0"))
                digits += 1
                i += 1
            }
            guard digits > 0, i + 1 < bytes.count, bytes[i] == UInt8(ascii: "}"), bytes[i + 1] == UInt8(ascii: "}") else { return nil }
            i += 2
            return n
        }

        mutating func skipPastClose() -> Bool {
            while i + 1 < bytes.count {
                if bytes[i] == UInt8(ascii: "}") && bytes[i + 1] == UInt8(ascii: "}") {
                    i += 2
                    return true
                }
                i += 1
            }
            return false
        }

        /// Whether only spaces and tabs are left on the line; if so, moves past its line end.
        mutating func lineFinished() -> Bool {
            if atEnd { return true }
            var j = i
            while j < bytes.count, bytes[j] == UInt8(ascii: " ") || bytes[j] == UInt8(ascii: "\t") { j += 1 }
            guard let end = Self.newline(bytes, at: j) else { return false }
            i = j + end
            return true
        }

        /// The length of the line end at `j` (as Swift's `Character.isNewline` counts one), if any.
        static func newline(_ b: [UInt8], at j: Int) -> Int? {
            guard j < b.count else { return nil }
            switch b[j] {
            case 0x0A, 0x0B, 0x0C: return 1
            case 0x0D: return j + 1 < b.count && b[j + 1] == 0x0A ? 2 : 1
            case 0xC2 where j + 1 < b.count && b[j + 1] == 0x85: return 2
            case 0xE2 where j + 2 < b.count && b[j + 1] == 0x80 && (b[j + 2] == 0xA8 || b[j + 2] == 0xA9): return 3
            default: return nil
            }
        }
    }
}
