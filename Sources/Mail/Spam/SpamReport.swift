/// What SpamAssassin's `spamd` said of one message: its score, the score it calls spam, and
/// each rule that fired with its points and description.
///
/// Read from the answer to a `REPORT` request (the SPAMC/1.5 protocol of `spamc`):
///
/// ```text
/// SPAMD/1.1 0 EX_OK
/// Content-length: 1264
/// Spam: True ; 7.8 / 5.0
///
/// …
/// Content analysis details:   (7.8 points, 5.0 required)
///
///  pts rule name              description
/// ---- ---------------------- --------------------------------------------------
///  0.5 SUBJ_ALL_CAPS          Subject is all capitals
///  1.7 HTML_IMAGE_ONLY_04     BODY: HTML: images with 0-400 bytes of words
/// ```
///
/// The score comes from the `Spam` header, so it is right whatever the report's template;
/// the rules come from the table of the default template (a site that rewrote the template
/// gets the score without rules).
public struct SpamReport: Sendable, Hashable {
    /// One rule that fired.
    public struct Rule: Sendable, Hashable {
        public var name: String
        public var score: Double
        public var description: String

        public init(name: String, score: Double, description: String) {
            self.name = name
            self.score = score
            self.description = description
        }
    }

    public var score: Double
    /// The score from which spamd calls a message spam (its `required_score`).
    public var required: Double
    public var isSpam: Bool
    /// The rules that fired, highest score first (spamd's own order among equals).
    public var rules: [Rule]

    public init(score: Double, required: Double, isSpam: Bool, rules: [Rule]) {
        self.score = score
        self.required = required
        self.isSpam = isSpam
        self.rules = rules
    }

    /// Reads spamd's whole answer to `REPORT`.
    /// - Throws: ``MailError`` `.protocolViolation` when it is not one (no `SPAMD/` line, no
    ///   `Spam` header), `.serviceNotAvailable` when spamd answered with an error code.
    public init(spamdAnswer bytes: [UInt8]) throws(MailError) {
        // Without CRs: Swift reads CR LF as one Character, which a search for LF would not find.
        let text = String(decoding: bytes.filter { $0 != 13 }, as: UTF8.self)
        let (head, body) = Self.split(text)
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false)
        guard let status = lines.first, status.hasPrefix("SPAMD/") else {
            throw MailError(.protocolViolation, "spamd's answer does not start with SPAMD/: \(Self.excerpt(text))")
        }
        lines.removeFirst()
        let parts = status.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let code = Int(parts[1]) else {
            throw MailError(.protocolViolation, "spamd's status line cannot be read: \(Self.excerpt(String(status)))")
        }
        guard code == 0 else {
            // The codes are sysexits(3): 64 usage, 65 data error, 74 I/O error, 76 protocol …
            throw MailError(.serviceNotAvailable, "spamd refused the check: \(parts.count > 2 ? String(parts[2]) : "code \(code)")")
        }
        // "Spam: True ; 7.8 / 5.0" (older versions say Yes/No).
        guard let header = lines.first(where: { $0.lowercased().hasPrefix("spam:") }) else {
            throw MailError(.protocolViolation, "spamd's answer has no Spam header: \(Self.excerpt(text))")
        }
        let value = header.dropFirst("spam:".count)
        let halves = value.split(separator: ";", maxSplits: 1)
        let figures = halves.count == 2 ? halves[1].split(separator: "/") : []
        guard figures.count == 2,
              let score = Double(figures[0].trimmingSpaces),
              let required = Double(figures[1].trimmingSpaces) else {
            throw MailError(.protocolViolation, "spamd's Spam header cannot be read: \(Self.excerpt(String(header)))")
        }
        let verdict = halves[0].trimmingSpaces.lowercased()
        self.init(score: score, required: required, isSpam: verdict == "true" || verdict == "yes", rules: Self.rules(in: body))
    }

    /// The rules of the report's table: a line per rule, " 0.5 NAME  description", whose long
    /// descriptions go on in lines that start with spaces.
    static func rules(in report: Substring) -> [Rule] {
        var rules: [Rule] = []
        var inTable = false
        for line in report.split(separator: "\n", omittingEmptySubsequences: false) {
            if !inTable {
                // The table starts after its underline: "---- ------…".
                inTable = line.hasPrefix("----") && line.contains(" -")
                continue
            }
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            // A rule's points are right-aligned in the first four columns; a description goes
            // on far further in (and may itself start with a number).
            let indent = line.prefix { $0 == " " }.count
            if indent < 4, words.count >= 2, let score = Double(words[0]), Self.isRuleName(words[1]) {
                let description = words.count > 2 ? words[2].trimmingSpaces : ""
                rules.append(Rule(name: String(words[1]), score: score, description: description))
            } else if line.hasPrefix(" "), !rules.isEmpty, !line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                let more = line.trimmingSpaces
                rules[rules.count - 1].description += rules[rules.count - 1].description.isEmpty ? more : " " + more
            } else if line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                if !rules.isEmpty { break }
            } else {
                break
            }
        }
        // Stable: spamd's order among rules of equal score.
        return rules.enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
            .map(\.element)
    }

    static func isRuleName(_ word: Substring) -> Bool {
        !word.isEmpty && word.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 46 }
    }

    /// The head (status line and headers) and the body, at the first empty line.
    static func split(_ text: String) -> (Substring, Substring) {
        var lineStart = text.startIndex
        while lineStart < text.endIndex {
            let lineEnd = text[lineStart...].firstIndex(of: "\n") ?? text.endIndex
            let line = text[lineStart..<lineEnd]
            if line.isEmpty {
                return (text[..<lineStart], lineEnd < text.endIndex ? text[text.index(after: lineEnd)...] : "")
            }
            lineStart = lineEnd < text.endIndex ? text.index(after: lineEnd) : text.endIndex
        }
        return (text[...], "")
    }

    static func excerpt(_ text: String) -> String {
        let line = text.prefix { $0 != "\r" && $0 != "\n" && $0 != "\r\n" }
        return line.count > 120 ? "\(line.prefix(120))…" : String(line)
    }
}
