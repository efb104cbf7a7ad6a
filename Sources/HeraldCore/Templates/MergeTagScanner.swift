/// A merge tag found in a template part, where it starts, and what it asks for.
struct MergeTag: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// `{{name}}` or `{{name | "fallback"}}`.
        case value
        /// `{{{name}}}` or `{{& name}}`.
        case unescaped
        /// `{{#name}}`
        case section
        /// `{{^name}}`
        case invertedSection
        /// `{{/name}}`
        case close
        /// `{{! … }}`
        case comment
    }

    var kind: Kind
    var name: String
    var fallback: String?
    /// The tag's own text, `{{` to `}}`, as written.
    var source: String
    var line: Int
    var column: Int

    var position: String { "line \(line), column \(column)" }
}

/// Splits a template part into text and merge tags, with lines and columns, refusing the
/// Mustache features that Herald templates do not offer.
///
/// swift-mustache keeps its tokens to itself and reports no positions a user could act on,
/// so Herald reads the tags itself: this is what makes "line 3, column 7: …" possible, and
/// what lets the fallback syntax (`| "there"`) exist at all before the text is handed on.
struct MergeTagScanner {
    enum Piece: Sendable, Hashable {
        case text(String)
        case tag(MergeTag)
    }

    struct Failure: Error, Sendable, Hashable {
        var line: Int
        var column: Int
        var reason: String
        var message: String { "line \(line), column \(column): \(reason)" }
    }

    /// The pieces in order, or every problem found; scanning stops at the first tag that
    /// cannot be read, because nothing after it can be placed with confidence.
    static func scan(_ text: String) -> (pieces: [Piece], failures: [Failure]) {
        let chars = Array(text)
        var pieces: [Piece] = []
        var failures: [Failure] = []
        var line = 1, column = 1
        var i = 0
        var plain = ""

        func advance(_ c: Character) {
            if c.isNewline { line += 1; column = 1 } else { column += 1 }
        }
        func at(_ j: Int, _ s: String) -> Bool {
            var k = j
            for c in s {
                guard k < chars.count, chars[k] == c else { return false }
                k += 1
            }
            return true
        }

        while i < chars.count {
            guard at(i, "{{") else {
                plain.append(chars[i])
                advance(chars[i])
                i += 1
                continue
            }
            let startLine = line, startColumn = column
            func fail(_ reason: String) { failures.append(Failure(line: startLine, column: startColumn, reason: reason)) }
            let triple = at(i, "{{{")
            let close = triple ? "}}}" : "}}"
            var j = i + (triple ? 3 : 2)
            let isComment = !triple && j < chars.count && chars[j] == "!"
            // Find the end of the tag, stepping over a quoted fallback, which may hold braces.
            var inQuote = false
            var end: Int?
            while j < chars.count {
                let c = chars[j]
                if inQuote {
                    if c == "\\" { j += 2; continue }
                    if c == "\"" { inQuote = false }
                } else if c == "\"", !isComment {
                    inQuote = true
                } else if at(j, close) {
                    end = j
                    break
                } else if at(j, "{{") {
                    break
                }
                j += 1
            }
            guard let end else {
                fail("the tag \(preview(chars[i...])) is not closed with \(close)")
                return (pieces, failures)
            }
            if !plain.isEmpty { pieces.append(.text(plain)); plain = "" }
            let inner = String(chars[(i + (triple ? 3 : 2))..<end])
            let source = String(chars[i..<(end + close.count)])
            for c in chars[i..<(end + close.count)] { advance(c) }
            i = end + close.count
            switch classify(inner, triple: triple, source: source) {
            case .success(var tag):
                tag.line = startLine
                tag.column = startColumn
                pieces.append(.tag(tag))
            case .failure(let reason):
                fail(reason)
            }
        }
        if !plain.isEmpty { pieces.append(.text(plain)) }
        return (pieces, failures)
    }

    private static func preview(_ chars: ArraySlice<Character>) -> String {
        let line = chars.prefix { !$0.isNewline }
        return line.count > 30 ? "'" + String(line.prefix(30)) + "…'" : "'" + String(line) + "'"
    }

    private enum Classified { case success(MergeTag), failure(String) }

    private static func classify(_ inner: String, triple: Bool, source: String) -> Classified {
        func tag(_ kind: MergeTag.Kind, _ body: Substring) -> Classified {
            let name = body.trimmedWhitespace
            if let reason = problem(withName: name, in: source) { return .failure(reason) }
            return .success(MergeTag(kind: kind, name: name, source: source, line: 0, column: 0))
        }
        if triple { return tag(.unescaped, inner[...]) }
        guard let first = inner.first else { return .failure("the tag {{}} names no merge field") }
        let rest = inner.dropFirst()
        switch first {
        case "!": return .success(MergeTag(kind: .comment, name: "", source: source, line: 0, column: 0))
        case "#": return tag(.section, rest)
        case "^": return tag(.invertedSection, rest)
        case "/": return tag(.close, rest)
        case "&": return tag(.unescaped, rest)
        case ">": return .failure("partials (\(source)) are not supported in templates")
        case "<", "$": return .failure("template inheritance (\(source)) is not supported in templates")
        case "=": return .failure("changing the delimiters (\(source)) is not supported in templates")
        case "%": return .failure("pragmas (\(source)) are not supported in templates")
        default: break
        }
        // A value, perhaps with a fallback: name | "text"
        guard let bar = inner.firstIndex(of: "|") else { return tag(.value, inner[...]) }
        let namePart = inner[..<bar]
        let fallbackPart = inner[inner.index(after: bar)...].trimmedWhitespace
        guard let fallback = unquote(fallbackPart) else {
            return .failure("the fallback in \(source) must be text in double quotes, as in {{first_name | \"there\"}}")
        }
        guard case .success(var value) = tag(.value, namePart) else { return tag(.value, namePart) }
        value.fallback = fallback
        return .success(value)
    }

    /// The text of `"…"` with `\"` and `\\` unescaped, or nil when it is not one quoted string.
    private static func unquote(_ text: String) -> String? {
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return nil }
        var out = ""
        var escaping = false
        for c in text.dropFirst().dropLast() {
            if escaping { out.append(c); escaping = false; continue }
            if c == "\\" { escaping = true; continue }
            if c == "\"" { return nil }
            out.append(c)
        }
        return escaping ? nil : out
    }

    /// Why `name` cannot name a merge field, or nil when its form is right.
    private static func problem(withName name: String, in source: String) -> String? {
        if name.isEmpty { return "the tag \(source) names no merge field" }
        if name.contains("(") || name.contains(")") { return "transforms (\(source)) are not supported in templates" }
        if name == "." { return "\(source) is not supported; name the field, as in {{first_name}}" }
        let segments = name.split(separator: ".", omittingEmptySubsequences: false)
        for segment in segments {
            guard let first = segment.first, first.isASCII, first.isLetter || first == "_",
                  segment.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                return "'\(name)' in \(source) is not a merge field name (letters, digits and _, as in {{first_name}})"
            }
        }
        return nil
    }
}
