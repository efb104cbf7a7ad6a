#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain text from HTML, for the text part of a message whose template has none.
public enum HTMLText {
    /// Lines longer than this are wrapped at spaces (RFC 5322 §2.1.1 recommends 78).
    public static let lineLength = 76

    /// The text a reader would see, kept readable without a renderer:
    ///
    /// - links become "text (url)", or just the url when the text is the url;
    /// - `<br>` is a line break; paragraphs, headings, `div`s, lists and tables are
    ///   separated by blank lines; `<li>` is "- item"; `<hr>` is a line of dashes;
    /// - `<head>`, `<style>`, `<script>` and comments are dropped, as are all other tags;
    /// - entities are decoded, runs of white space collapse (except in `<pre>`), and
    ///   lines are wrapped at ``lineLength``.
    ///
    /// Merge tags (`{{first_name | "there"}}`) pass through whole, also in attributes such as
    /// `href`, and are never split by wrapping.
    ///
    /// - Parameter wrapping: false leaves lines as long as they are, for a text that is a
    ///   template: its lines are wrapped after rendering (``wrapLines(_:)``), when the merge
    ///   tags have their values and so their lengths.
    public static func plainText(fromHTML html: String, wrapping: Bool = true) -> String {
        var writer = Writer(wrapping: wrapping)
        let chars = Array(html)
        var i = 0
        var skipUntil: String?  // the closing tag that ends dropped content
        var links: [(href: String, start: Int)] = []
        var preDepth = 0
        var listDepth = 0

        while i < chars.count {
            let c = chars[i]
            if c == "<" {
                if matches(chars, i, "<!--") {
                    i = find(chars, "-->", from: i + 4).map { $0 + 3 } ?? chars.count
                    continue
                }
                guard let end = tagEnd(chars, from: i) else {
                    if skipUntil == nil { writer.text("<", pre: preDepth > 0) }
                    i += 1
                    continue
                }
                let tag = Tag(String(chars[(i + 1)..<end]))
                i = end + 1
                if let closing = skipUntil {
                    if tag.isClosing && tag.name == closing { skipUntil = nil }
                    continue
                }
                guard !tag.name.isEmpty, tag.name.first?.isLetter == true else { continue }
                switch tag.name {
                case "head", "style", "script", "title", "template":
                    if !tag.isClosing && !tag.selfClosing { skipUntil = tag.name }
                case "br":
                    writer.lineBreak()
                case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section", "article",
                     "header", "footer", "table", "address", "figure", "main", "nav", "aside", "center", "form":
                    writer.paragraph()
                case "ul", "ol":
                    listDepth += tag.isClosing ? -1 : 1
                    listDepth = max(0, listDepth)
                    writer.paragraph()
                case "li":
                    if tag.isClosing { writer.lineBreak() } else {
                        writer.lineBreak()
                        writer.raw(String(repeating: "  ", count: max(0, listDepth - 1)) + "- ")
                    }
                case "tr":
                    writer.lineBreak()
                case "td", "th":
                    if !tag.isClosing { writer.space() }
                case "hr":
                    writer.paragraph()
                    writer.raw(String(repeating: "-", count: 20))
                    writer.paragraph()
                case "pre":
                    preDepth += tag.isClosing ? -1 : 1
                    preDepth = max(0, preDepth)
                    writer.paragraph()
                case "img":
                    if let alt = tag.attribute("alt"), !alt.trimmedWhitespace.isEmpty { writer.text(decode(alt), pre: false) }
                case "a":
                    if tag.isClosing {
                        if let link = links.popLast() { writer.endLink(href: link.href, start: link.start) }
                    } else if let href = tag.attribute("href") {
                        links.append((decode(href).trimmedWhitespace, writer.mark()))
                    }
                default:
                    break
                }
                continue
            }
            // Text up to the next tag.
            var j = i
            while j < chars.count, chars[j] != "<" { j += 1 }
            if skipUntil == nil { writer.text(decode(String(chars[i..<j])), pre: preDepth > 0) }
            i = j
        }
        return writer.finish()
    }

    // MARK: - Reading tags

    private struct Tag {
        var name: String
        var isClosing: Bool
        var selfClosing: Bool
        var body: String

        init(_ inner: String) {
            var s = Substring(inner)
            isClosing = s.first == "/"
            if isClosing { s = s.dropFirst() }
            selfClosing = s.last == "/"
            let name = s.prefix { $0.isLetter || $0.isNumber }
            self.name = name.lowercased()
            body = String(s.dropFirst(name.count))
        }

        /// The value of `attribute`, quoted or not.
        func attribute(_ attribute: String) -> String? {
            let chars = Array(body)
            var i = 0
            while i < chars.count {
                while i < chars.count, chars[i].isWhitespace || chars[i] == "/" { i += 1 }
                let start = i
                while i < chars.count, !chars[i].isWhitespace, chars[i] != "=", chars[i] != "/" { i += 1 }
                let name = String(chars[start..<i]).lowercased()
                while i < chars.count, chars[i].isWhitespace { i += 1 }
                var value = ""
                if i < chars.count, chars[i] == "=" {
                    i += 1
                    while i < chars.count, chars[i].isWhitespace { i += 1 }
                    if i < chars.count, chars[i] == "\"" || chars[i] == "'" {
                        let quote = chars[i]
                        i += 1
                        let valueStart = i
                        while i < chars.count, chars[i] != quote { i += 1 }
                        value = String(chars[valueStart..<min(i, chars.count)])
                        i += 1
                    } else {
                        let valueStart = i
                        while i < chars.count, !chars[i].isWhitespace { i += 1 }
                        value = String(chars[valueStart..<i])
                    }
                }
                if name == attribute { return value }
                if name.isEmpty { i += 1 }
            }
            return nil
        }
    }

    private static func matches(_ chars: [Character], _ i: Int, _ s: String) -> Bool {
        var k = i
        for c in s {
            guard k < chars.count, chars[k] == c else { return false }
            k += 1
        }
        return true
    }

    private static func find(_ chars: [Character], _ s: String, from start: Int) -> Int? {
        var i = start
        while i < chars.count {
            if matches(chars, i, s) { return i }
            i += 1
        }
        return nil
    }

    /// The index of the `>` that ends the tag at `start`, skipping quoted attribute values
    /// (where a merge tag's fallback may sit); nil when `<` does not start a tag.
    static func tagEnd(_ chars: [Character], from start: Int) -> Int? {
        guard start + 1 < chars.count else { return nil }
        let next = chars[start + 1]
        guard next.isLetter || next == "/" || next == "!" || next == "?" else { return nil }
        var quote: Character?
        var i = start + 1
        while i < chars.count {
            let c = chars[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == ">" {
                return i
            }
            i += 1
        }
        return nil
    }

    // MARK: - Entities

    private static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "copy": "©", "reg": "®",
        "trade": "™", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“",
        "rdquo": "”", "laquo": "«", "raquo": "»", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "sect": "§",
        "middot": "·", "bull": "•", "deg": "°", "times": "×", "divide": "÷", "shy": "", "zwnj": "", "zwj": "",
        "auml": "ä", "ouml": "ö", "uuml": "ü", "Auml": "Ä", "Ouml": "Ö", "Uuml": "Ü", "szlig": "ß",
        "eacute": "é", "egrave": "è", "agrave": "à", "aacute": "á", "ccedil": "ç", "ntilde": "ñ",
    ]

    /// Decodes character references; one that is unknown or malformed stays as written.
    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semi = after.prefix(12).firstIndex(of: ";") {
                let name = after[..<semi]
                var replacement: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    replacement = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else if name.hasPrefix("#") {
                    replacement = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else {
                    replacement = named[String(name)]
                }
                if let replacement {
                    out += replacement
                    rest = after[after.index(after: semi)...]
                    continue
                }
            }
            out += "&"
            rest = after
        }
        out += rest
        return out
    }

    // MARK: - Writing

    /// Collects text with pending breaks, so that breaks collapse and never lead or trail.
    private struct Writer {
        let wrapping: Bool
        var out = ""
        /// 0 none, 1 line break, 2 blank line, before the next text.
        var pendingBreak = 0
        var pendingSpace = false

        mutating func paragraph() { pendingBreak = max(pendingBreak, 2) }
        mutating func lineBreak() { pendingBreak = max(pendingBreak, 1) }
        mutating func space() { if !out.isEmpty && pendingBreak == 0 { pendingSpace = true } }

        private mutating func flush() {
            if pendingBreak > 0 {
                while out.last == " " { out.removeLast() }
                if !out.isEmpty { out += pendingBreak == 2 ? "\n\n" : "\n" }
                pendingBreak = 0
                pendingSpace = false
            } else if pendingSpace {
                if !out.isEmpty && out.last != " " && out.last != "\n" { out += " " }
                pendingSpace = false
            }
        }

        /// Text exactly as given (list markers, rules).
        mutating func raw(_ text: String) {
            flush()
            out += text
        }

        mutating func text(_ text: String, pre: Bool) {
            if pre {
                flush()
                out += text.replacingNonBreakingSpaces()
                return
            }
            var word = ""
            for c in text {
                if c.isWhitespace && c != "\u{A0}" {
                    if !word.isEmpty { emit(word); word = "" }
                    if !out.isEmpty || pendingBreak > 0 { pendingSpace = true }
                } else {
                    word.append(c == "\u{A0}" ? " " : c)
                }
            }
            if !word.isEmpty { emit(word) }
        }

        private mutating func emit(_ word: String) {
            if pendingBreak == 0, pendingSpace, out.last == "\n" || out.last == " " || out.hasSuffix("- ") {
                pendingSpace = false
            }
            flush()
            out += word
        }

        /// Where a link's text starts in the output.
        mutating func mark() -> Int {
            flush()
            return out.count
        }

        mutating func endLink(href: String, start: Int) {
            guard !href.isEmpty, !href.hasPrefix("#") else { return }
            let text = String(out.dropFirst(min(start, out.count))).trimmedWhitespace
            let shown = href.hasPrefix("mailto:") ? String(href.dropFirst(7)) : href
            if text.isEmpty { out += shown; return }
            if text == shown || text == href { return }
            out += " (\(shown))"
        }

        mutating func finish() -> String {
            let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                var line = Substring(line)
                while line.last == " " { line.removeLast() }
                return wrapping ? HTMLText.wrap(String(line)) : String(line)
            }
            return lines.joined(separator: "\n").trimmedWhitespace
        }
    }

    /// Wraps every line longer than ``lineLength`` at spaces; cheap when none is.
    ///
    /// It runs for every message of a mass email whose text part is made from the HTML (see
    /// ``CompiledTemplate``), so it works on bytes: one pass finds the long lines, and the
    /// lines between them are copied as one piece.
    public static func wrapLines(_ text: String) -> String {
        var text = text
        // Over the contiguous UTF-8 storage: iterating `utf8.enumerated()` cost six
        // nanoseconds a byte, a twentieth of a mass email's CPU.
        let wrapped: String? = text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return nil }
            var long: [Range<Int>] = []
            var lineStart = 0
            // Line ends by memchr, and characters counted only in a line of more bytes than
            // the limit: the lines without values were wrapped when the template compiled,
            // so most are short, and a byte loop over them all was a mass email's 1.5 %.
            while lineStart <= bytes.count {
                var lineEnd = bytes.count
                if lineStart < bytes.count, let newline = memchr(base + lineStart, 0x0A, bytes.count - lineStart) {
                    lineEnd = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(newline))
                }
                if lineEnd - lineStart > lineLength, width(UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])) > lineLength {
                    long.append(lineStart..<lineEnd)
                }
                lineStart = lineEnd + 1
            }
            guard !long.isEmpty else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + bytes.count / 16)
            var copied = 0
            for line in long {
                out.append(contentsOf: bytes[copied..<line.lowerBound])
                wrap(bytes[line], into: &out)
                copied = line.upperBound
            }
            out.append(contentsOf: bytes[copied...])
            return String(decoding: out, as: UTF8.self)
        }
        return wrapped ?? text
    }

    /// Wraps a line at spaces; a merge tag or a long URL is one word and never split. A list
    /// item's continuation lines are indented under its text.
    static func wrap(_ line: String) -> String {
        var line = line
        var out: [UInt8] = []
        line.withUTF8 { wrap($0[...], into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Characters in UTF-8 bytes (continuation bytes not counted).
    private static func width(_ bytes: some Collection<UInt8>) -> Int {
        var n = 0
        for b in bytes where b & 0xC0 != 0x80 { n += 1 }
        return n
    }

    private static func wrap(_ line: Slice<UnsafeBufferPointer<UInt8>>, into out: inout [UInt8]) {
        let space: UInt8 = 0x20, open: UInt8 = 0x7B, close: UInt8 = 0x7D
        guard width(line) > lineLength else { out.append(contentsOf: line); return }
        var bodyStart = line.startIndex
        while bodyStart < line.endIndex, line[bodyStart] == space { bodyStart += 1 }
        let lead = line[line.startIndex..<bodyStart]
        let body = line[bodyStart...]
        var continuation = Array(lead)
        if body.starts(with: [0x2D, space]) { continuation += [space, space] }  // "- "
        // Words: split at spaces outside merge tags.
        var words: [Slice<UnsafeBufferPointer<UInt8>>] = []
        var wordStart = body.startIndex
        var depth = 0
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            if c == open, i + 1 < body.endIndex, body[i + 1] == open { depth += 1; i += 2; continue }
            if c == close, i + 1 < body.endIndex, body[i + 1] == close, depth > 0 { depth -= 1; i += 2; continue }
            if c == space, depth == 0 {
                if i > wordStart { words.append(body[wordStart..<i]) }
                wordStart = i + 1
            }
            i += 1
        }
        if body.endIndex > wordStart { words.append(body[wordStart..<body.endIndex]) }
        out.append(contentsOf: lead)
        var currentWidth = 0
        var first = true
        for word in words {
            let w = width(word)
            if first {
                out.append(contentsOf: word)
                currentWidth = w
                first = false
            } else if currentWidth + 1 + w > lineLength {
                out.append(0x0A)
                out.append(contentsOf: continuation)
                out.append(contentsOf: word)
                currentWidth = continuation.count + w
            } else {
                out.append(space)
                out.append(contentsOf: word)
                currentWidth += 1 + w
            }
        }
    }
}

extension String {
    fileprivate func replacingNonBreakingSpaces() -> String {
        contains("\u{A0}") ? String(map { $0 == "\u{A0}" ? " " : $0 }) : self
    }
}
