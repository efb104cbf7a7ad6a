extension BounceReport {
    /// Reads a received message as a bounce; nil when it is not one (see ``init(message:)``).
    public init?(parsing bytes: some Collection<UInt8>) {
        self.init(message: MIMEPart(parsing: bytes))
    }

    /// Reads an already parsed message as a bounce.
    ///
    /// Nil when it is not one: an automatic reply (``isAutomaticReply(_:)``), a complaint
    /// (``FeedbackReport``), a read receipt, or mail that names no failed recipient and does not
    /// come from a mail system. A report that clearly is a bounce (a `delivery-status` part, the
    /// null sender, `MAILER-DAEMON` or `postmaster`) but names no recipient (Delivery report
    /// unavailable) is returned with no ``recipients``, so that the caller can still record it
    /// against the message its VERP address names.
    public init?(message: MIMEPart) {
        let all = message.allParts
        if FeedbackReport.isFeedbackReport(message, all: all) || BounceText.isReadReceipt(message, all: all) { return nil }
        if BounceText.isAutomaticReply(message, all: all) { return nil }
        let reportID = message.header("Message-ID").flatMap(BounceText.messageID)
        if let status = all.first(where: { BounceText.deliveryStatusTypes.contains($0.contentType) }) {
            var report = BounceText.deliveryStatus(status.text)
            report.reportMessageID = reportID
            report.originalMessageID = BounceText.returnedMessageID(in: all)
            // RFC 3464 §2.3 requires a block per recipient, but not every MTA writes one;
            // the human part often names them.
            if report.recipients.isEmpty, let fallback = BounceText.fromText(message, all: all) {
                report.recipients = fallback.recipients
            }
            self = report
            return
        }
        guard var report = BounceText.fromText(message, all: all) else { return nil }
        report.reportMessageID = reportID
        self = report
    }
}

/// The readings behind ``BounceReport/init(message:)``. Text is read as bytes by hand-written
/// scanners rather than regular expressions: bounces come from anyone, so every reading must
/// stay linear in the size of the input, and these run for every message a return path gets.
enum BounceText {
    static let deliveryStatusTypes: Set<String> = ["message/delivery-status", "message/global-delivery-status"]
    static let returnedMessageTypes: Set<String> = ["message/rfc822", "message/global"]
    static let returnedHeaderTypes: Set<String> = ["text/rfc822-headers", "message/global-headers", "message/rfc822-headers", "text/rfc822-header"]

    /// `<id>` or `id` → `id`; nil when empty.
    static func messageID(_ value: String) -> String? {
        var text = Substring(value.trimmingSpaces)
        if let open = text.firstIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        }
        return text.isEmpty || text.utf8.contains(32) ? nil : String(text)
    }

    /// `rfc822; Ann@Example.org` → `Ann@Example.org` (RFC 3464 §2.3.2: address-type ";"
    /// address). Only a single word before the `;` is a type: `550 user; unknown` has none.
    static func typed(_ value: String) -> String {
        if let semicolon = value.firstIndex(of: ";") {
            let type = value[..<semicolon].trimmingSpaces
            if !type.isEmpty, !type.utf8.contains(32), !type.utf8.contains(UInt8(ascii: "@")) {
                return value[value.index(after: semicolon)...].trimmingSpaces
            }
        }
        return value.trimmingSpaces
    }

    /// The address of a Final-Recipient or a header value, lower case: the one in `<…>`, else
    /// the first word with an `@` (`rfc822; ann@example.org (Ann)`).
    static func address(_ value: String) -> String? {
        var text = Substring(typed(value))
        if let open = text.firstIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        }
        // The "@" must be a character of its own: one that a combining mark follows (or a
        // prepended mark precedes) is part of another character and separates nothing.
        guard let word = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).first(where: { $0.contains { $0 == "@" } }) else { return nil }
        let address = word.trimming("<>\"'()[];:").lowercased()
        return address.contains { $0 == "@" } ? address : nil
    }

    /// Every address in a header value (`To: Ann <ann@example.org>, bob@example.org`).
    static func addresses(inHeader value: String) -> [String] {
        addressMatches(in: Array(value.utf8)).map(\.address)
    }

    /// RFC 3464 §2.1: per-message fields, then a block of per-recipient fields for each
    /// recipient. Blocks are separated by empty lines (some MTAs put white space on them, some
    /// put none between recipients: a repeated Final-Recipient or Original-Recipient then
    /// starts the next one).
    static func deliveryStatus(_ text: String) -> BounceReport {
        var report = BounceReport(format: .deliveryStatus, recipients: [])
        var current = BounceReport.Recipient()
        var named = (original: false, final: false)
        func flush() {
            if named.original || named.final {
                if current.status == nil, let diagnostic = current.diagnostic { current.status = enhancedStatus(in: diagnostic) }
                report.recipients.append(current)
            }
            current = BounceReport.Recipient()
            named = (false, false)
        }
        let bytes = Array(text.utf8)
        var blockStart = 0
        var lineStart = 0
        func readBlock(upTo end: Int) {
            guard end > blockStart else { return }
            for field in MIMEParser.headers(bytes[blockStart..<end]) {
                switch field.name.lowercased() {
                case "reporting-mta":
                    if report.reportingMTA == nil { report.reportingMTA = typed(field.value) }
                case "original-recipient":
                    if named.original { flush() }
                    current.originalRecipient = address(field.value)
                    named.original = true
                case "final-recipient":
                    if named.final { flush() }
                    current.finalRecipient = address(field.value)
                    named.final = true
                case "action":
                    current.action = BounceReport.Action(rawValue: field.value.trimmingSpaces.lowercased())
                case "status":
                    current.status = enhancedStatus(in: field.value)
                case "diagnostic-code":
                    let diagnostic = typed(field.value)
                    current.diagnostic = diagnostic.isEmpty ? nil : String(diagnostic.prefix(1000))
                case "remote-mta":
                    current.remoteMTA = typed(field.value)
                default:
                    continue
                }
            }
        }
        while lineStart < bytes.count {
            let newline = bytes[lineStart...].firstIndex(of: 10) ?? bytes.count
            if bytes[lineStart..<newline].allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) {
                readBlock(upTo: lineStart)
                flush()
                blockStart = newline + 1
            }
            lineStart = newline + 1
        }
        readBlock(upTo: bytes.count)
        flush()
        return report
    }

    /// The Message-ID of the returned message: from a `message/rfc822` part, a
    /// `text/rfc822-headers` part (RFC 6522), or a `Message-ID:` line in a returned copy.
    static func returnedMessageID(in parts: [MIMEPart]) -> String? {
        for part in parts.dropFirst() {
            if returnedMessageTypes.contains(part.contentType) {
                if let id = part.parts.first?.header("Message-ID").flatMap(messageID) { return id }
            } else if returnedHeaderTypes.contains(part.contentType) {
                if let id = MIMEPart(parsingHeaders: part.body).header("Message-ID").flatMap(messageID) { return id }
            }
        }
        // A forwarded copy as plain text (qmail, Exim, older Exchange).
        for part in parts.dropFirst() where part.contentType.hasPrefix("text/") || part.parts.isEmpty {
            if let id = messageIDLine(in: part.text) { return id }
        }
        return parts.count == 1 ? messageIDLine(in: parts[0].text) : nil
    }

    /// The `<id>` of the first `Message-ID:` line (leading white space allowed).
    static func messageIDLine(in text: String) -> String? {
        messageIDLine(in: Array(text.utf8))
    }

    static func messageIDLine(in text: [UInt8]) -> String? {
        let label = Array("message-id:".utf8)
        var lineStart = 0
        while lineStart < text.count {
            let newline = text[lineStart...].firstIndex(of: 10) ?? text.count
            var index = lineStart
            while index < newline, text[index] == 32 || text[index] == 9 { index += 1 }
            if newline - index > label.count, zip(text[index..<(index + label.count)], label).allSatisfy({ asciiLower($0) == $1 }) {
                let rest = text[(index + label.count)..<newline]
                if let open = rest.firstIndex(of: UInt8(ascii: "<")), let close = rest[open...].firstIndex(of: UInt8(ascii: ">")), close > open + 1 {
                    let id = rest[(open + 1)..<close]
                    if !id.contains(13) { return messageID(String(decoding: id, as: UTF8.self)) }
                } else if let word = rest.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 13 }).first, word.contains(UInt8(ascii: "@")) {
                    // The bare form some software writes: `Message-ID: abc@host`.
                    return messageID(String(decoding: word, as: UTF8.self))
                }
            }
            lineStart = newline + 1
        }
        return nil
    }

    // MARK: Status codes in text

    /// `5.1.1` from a Status field or free text; nil when there is none. Not part of a longer
    /// run of digits and dots (an IP address, a date like 5.1.2026, a version like 4.6.1.2),
    /// nor glued to a word (`v4.6.1`, `Mozilla/5.0.1`).
    static func enhancedStatus(in text: some StringProtocol) -> String? {
        enhancedStatus(in: Array(text.utf8), classes: [2, 4, 5])
    }

    static func enhancedStatus(in text: ArraySlice<UInt8>, classes: Set<UInt8>) -> String? {
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            guard byte >= 50 && byte <= 53, classes.contains(byte - 48) else {
                index += 1
                continue
            }
            if index > text.startIndex {
                let before = text[index - 1]
                if isDigit(before) || isLetter(before) || before == UInt8(ascii: ".") || before == UInt8(ascii: "/") || before == UInt8(ascii: "_") {
                    index += 1
                    continue
                }
            }
            var cursor = index + 1
            var numbers: [Int] = []
            for _ in 0..<2 {
                guard cursor < text.endIndex, text[cursor] == UInt8(ascii: ".") else { break }
                var value = 0, digits = 0
                cursor += 1
                while cursor < text.endIndex, isDigit(text[cursor]), digits < 4 {
                    value = value * 10 + Int(text[cursor] - 48)
                    digits += 1
                    cursor += 1
                }
                guard (1...3).contains(digits) else { break }
                numbers.append(value)
            }
            if numbers.count == 2 {
                // What follows may not continue the run of digits and dots.
                var tail = cursor
                var continues = false
                while tail < text.endIndex, isDigit(text[tail]) || text[tail] == UInt8(ascii: ".") {
                    if isDigit(text[tail]) { continues = true; break }
                    tail += 1
                }
                if !continues { return "\(byte - 48).\(numbers[0]).\(numbers[1])" }
            }
            index += 1
        }
        return nil
    }

    static func enhancedStatus(in text: [UInt8], classes: Set<UInt8>) -> String? {
        enhancedStatus(in: text[...], classes: classes)
    }

    /// A bare SMTP reply code in text (`550 User unknown`) as a status class `5.0.0`.
    static func basicStatus(in text: some StringProtocol) -> String? {
        basicStatus(in: Array(text.utf8)[...])
    }

    static func basicStatus(in text: ArraySlice<UInt8>) -> String? {
        guard let index = replyCodeIndex(in: text, requireWord: true) else { return nil }
        return "\(text[index] - 48).0.0"
    }

    /// Where a 4xx or 5xx reply code stands in `text`: three digits, not inside a number, then a
    /// space or hyphen (and, with `requireWord`, a word, `#` or `<` after it).
    static func replyCodeIndex(in text: ArraySlice<UInt8>, requireWord: Bool) -> Int? {
        var index = text.startIndex
        while index + 3 < text.endIndex {
            let first = text[index]
            if first == 52 || first == 53, isDigit(text[index + 1]), isDigit(text[index + 2]),
               text[index + 3] == 32 || text[index + 3] == UInt8(ascii: "-") {
                let before = index > text.startIndex ? text[index - 1] : 32
                let clean = !isDigit(before) && before != UInt8(ascii: ".") && before != UInt8(ascii: "#") && before != UInt8(ascii: ":")
                if clean {
                    if !requireWord { return index }
                    if index + 4 < text.endIndex {
                        let next = text[index + 4]
                        if isLetter(next) || next == UInt8(ascii: "#") || next == UInt8(ascii: "<") { return index }
                    }
                }
            }
            index += 1
        }
        return nil
    }

    // MARK: Plain-text bounces

    /// Where a bounce's text stops and the copy of the returned message begins.
    static let copyMarkers = [
        "--- below this line is a copy of the message",        // qmail
        "------ this is a copy of the message",                 // Exim
        "------ this is a copy of the body of the message",     // Exim, body only
        "----- original message -----",
        "original message headers:",                            // Exchange
        "----- the header of the original message is following",
        "----- transcript of session follows -----",            // Sendmail: the session, then the message
        "------ original message follows",
        "----- unsent message follows -----",                   // Sendmail
        "--- the header of the original message",
    ].map { Array($0.utf8) }

    /// Field names that begin a returned message's header block, and those of them only a
    /// message in transit has (not an explanation that quotes a To and a Subject).
    static let messageHeaderNames: Set<String> = [
        "received", "return-path", "from", "to", "cc", "subject", "message-id", "date", "reply-to", "sender",
        "mime-version", "dkim-signature", "list-unsubscribe", "references", "in-reply-to", "delivered-to", "x-mailer",
        "content-type",
    ]
    static let transitHeaderNames: Set<String> = [
        "received", "return-path", "message-id", "date", "dkim-signature", "mime-version", "delivered-to",
        "x-mailman-version", "list-unsubscribe", "references", "in-reply-to", "x-mailer", "authentication-results",
        "arc-seal", "x-original-to",
    ]

    static func fromText(_ message: MIMEPart, all: [MIMEPart]) -> BounceReport? {
        var bytes = Array(humanText(message).utf8)
        bytes.removeAll { $0 == 13 }
        let lower = bytes.map(asciiLower)
        let cut = copyStart(in: bytes, lower: lower) ?? bytes.count
        let text = bytes[..<cut]
        let lowerText = lower[..<cut]
        let copy = bytes[cut...]

        let subject = message.header("Subject") ?? ""
        let from = message.header("From") ?? ""
        var format = self.format(text: Array(lowerText), from: from.lowercased())
        let (excludedAddresses, excludedIDs) = excluded(message, all: all, copy: copy)

        var recipients: [BounceReport.Recipient] = []

        var reportingMTA: String?
        // A DSN read as text (its boundary never appears, or a text-only Sendmail report)
        // names its recipients in fields: those beat guessing from addresses.
        if hasDeliveryStatusFields(in: text) {
            let inline = deliveryStatus(String(decoding: text, as: UTF8.self))
            recipients = inline.recipients
            if !recipients.isEmpty {
                format = .deliveryStatus
                reportingMTA = inline.reportingMTA
            }
        }
        if recipients.isEmpty {
            let failed = message.headers("X-Failed-Recipients").flatMap(addresses(inHeader:))
            recipients = self.recipients(in: Array(text), lower: Array(lowerText), excluding: excludedAddresses, ids: excludedIDs, failed: failed)
        }
        let original = returnedMessageID(in: all) ?? messageIDLine(in: Array(copy))
        let fromMailSystem = isFromMailSystem(message)
        if recipients.isEmpty {
            // Delivery report unavailable: still a report, for the message its VERP address names.
            guard fromMailSystem else { return nil }
            return BounceReport(format: format, recipients: [], originalMessageID: original, reportingMTA: reportingMTA)
        }
        if format == .text && !fromMailSystem {
            // Only a text that reads like a bounce is one: a reply that happens to quote an
            // address is not, nor a mailing that says "could not be delivered" without a code.
            if !message.headers("List-Unsubscribe").isEmpty || !message.headers("List-Id").isEmpty { return nil }
            let bySubject = looksLikeBounce(subject: subject, text: [][...])
            let byText = looksLikeBounce(subject: "", text: lowerText) && recipients.contains { $0.status != nil && $0.status != "4.0.0" }
            guard bySubject || byText else { return nil }
        }
        return BounceReport(format: format, recipients: recipients, originalMessageID: original, reportingMTA: reportingMTA)
    }

    /// The human-readable text: every text part outside a returned message, the first HTML
    /// part when there is no text, and a multipart whose boundary never appears (it is text).
    static func humanText(_ message: MIMEPart) -> String {
        var text = ""
        func collect(_ part: MIMEPart) {
            let type = part.contentType
            if returnedMessageTypes.contains(type) || returnedHeaderTypes.contains(type) { return }
            if !part.parts.isEmpty {
                for child in part.parts { collect(child) }
            } else if type == "text/plain" || type.hasPrefix("multipart/") {
                text += part.text + "\n"
            } else if type == "text/html" && text.isEmpty {
                text += plain(fromHTML: part.text) + "\n"
            }
        }
        collect(message)
        return text
    }

    /// The start of the returned copy in a text bounce: a known marker, or a run of header
    /// lines that only a message in transit has, whichever comes first. The line starts are
    /// column 0: an explanation indents the To and Subject it quotes.
    static func copyStart(in text: [UInt8], lower: [UInt8]) -> Int? {
        var best: Int?
        for marker in copyMarkers {
            if let found = ByteSearch.find(marker, in: lower, from: 0), found < (best ?? Int.max) {
                best = lower[..<found].lastIndex(of: 10).map { $0 + 1 } ?? 0
            }
        }
        if let run = headerRunStart(in: lower, before: best ?? lower.count) { best = run }
        return best
    }

    /// The first run of at least three header fields, two of them a message's own and one
    /// that only a message in transit has.
    static func headerRunStart(in lower: [UInt8], before limit: Int) -> Int? {
        var lineStart = 0
        var runStart: Int?
        var names = Set<String>()
        var count = 0
        func ends() -> Int? {
            defer { runStart = nil; names = []; count = 0 }
            guard let start = runStart, count >= 3, names.intersection(messageHeaderNames).count >= 2,
                  !names.isDisjoint(with: transitHeaderNames) else { return nil }
            return start
        }
        while lineStart < limit {
            let newline = lower[lineStart...].firstIndex(of: 10) ?? lower.count
            let line = lower[lineStart..<newline]
            if let first = line.first, first == 32 || first == 9, runStart != nil, line.contains(where: { $0 != 32 && $0 != 9 }) {
                // A folded line continues the field before it.
            } else if let name = fieldName(line) {
                if runStart == nil { runStart = lineStart }
                names.insert(name)
                count += 1
            } else if let start = ends() {
                return start
            }
            lineStart = newline + 1
        }
        return ends()
    }

    /// The lower-case name of a header line (`received: …` → `received`), nil when the line
    /// is no header field.
    static func fieldName(_ line: ArraySlice<UInt8>) -> String? {
        guard let colon = line.prefix(78).firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return nil }
        let name = line[line.startIndex..<colon]
        guard name.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else { return nil }
        return String(decoding: name, as: UTF8.self)
    }

    static func hasDeliveryStatusFields(in text: ArraySlice<UInt8>) -> Bool {
        let names: Set<String> = ["final-recipient", "original-recipient"]
        var lineStart = text.startIndex
        while lineStart < text.endIndex {
            let newline = text[lineStart...].firstIndex(of: 10) ?? text.endIndex
            if let name = fieldName(text[lineStart..<newline].map(asciiLower)[...]), names.contains(name) { return true }
            lineStart = newline + 1
        }
        return false
    }

    /// Addresses and Message-IDs that are never a failed recipient: the report's own sender and
    /// addressee (our return path), and the returned message's sender, return path and IDs.
    static func excluded(_ message: MIMEPart, all: [MIMEPart], copy: ArraySlice<UInt8>) -> (addresses: Set<String>, ids: Set<String>) {
        var senders = Set<String>()
        var ids = Set<String>()
        let senderFields = ["From", "Sender", "Reply-To", "Return-Path", "Errors-To"]
        for name in senderFields + ["To", "Delivered-To", "X-Original-To", "Envelope-To"] {
            for value in message.headers(name) { senders.formUnion(addresses(inHeader: value)) }
        }
        var returned: [[(name: String, value: String)]] = []
        for part in all.dropFirst() {
            if returnedMessageTypes.contains(part.contentType), let inner = part.parts.first {
                returned.append(inner.headers)
            } else if returnedHeaderTypes.contains(part.contentType) {
                returned.append(MIMEPart(parsingHeaders: part.body).headers)
            }
        }
        if !copy.isEmpty {
            let lower = copy.map(asciiLower)
            let start = headerRunStart(in: lower, before: lower.count).map { copy.startIndex + $0 } ?? copy.startIndex
            returned.append(MIMEParser.headers(MIMEParser.split(Array(copy[start...])[...]).0))
        }
        let idFields: Set<String> = ["message-id", "in-reply-to", "references"]
        let senderNames = Set(senderFields.map { $0.lowercased() })
        for headers in returned + [message.headers] {
            for field in headers {
                let name = field.name.lowercased()
                if idFields.contains(name) {
                    ids.formUnion(addresses(inHeader: field.value))
                } else if senderNames.contains(name) {
                    senders.formUnion(addresses(inHeader: field.value))
                }
            }
        }
        return (senders, ids)
    }

    /// Mail from a mail system rather than a person: the null sender (`Return-Path: <>`),
    /// `MAILER-DAEMON`, `postmaster`, or Exim's `X-Failed-Recipients`.
    static func isFromMailSystem(_ message: MIMEPart) -> Bool {
        if message.headers("Return-Path").contains(where: { $0.replacingSpaces == "<>" }) { return true }
        if !message.headers("X-Failed-Recipients").isEmpty { return true }
        let from = message.header("From")?.lowercased() ?? ""
        return from.containsBytes("mailer-daemon") || from.containsBytes("postmaster@") || from.containsBytes("mail delivery")
    }

    static func format(text: [UInt8], from: String) -> BounceReport.Format {
        func has(_ needle: String) -> Bool { ByteSearch.find(Array(needle.utf8), in: text, from: 0) != nil }
        if has("this is the qmail-send program") { return .qmail }
        if has("this message was created automatically by mail delivery software") || has("following address(es) failed") { return .exim }
        if has("this is the mail system at host") || has("this is the postfix program") { return .postfix }
        if has("delivery has failed to these recipients") || has("remote server returned") || has("resolver.adr") || has("diagnostic information for administrators") || has("couldn't be delivered to") { return .exchange }
        if from.containsBytes("googlemail.com") || has("address not found") || has("wasn't delivered to") || has("there was a temporary problem delivering your message") { return .gmail }
        return .text
    }

    static func looksLikeBounce(subject: String, text: ArraySlice<UInt8>) -> Bool {
        let words = ["undeliver", "delivery status", "delivery failure", "returned mail", "failure notice", "delivery has failed",
                     "could not be delivered", "not be delivered", "delivery problem", "delayed mail", "warning: message",
                     "delivery failed", "mail delivery failed", "non-delivery", "nondeliverable", "undelivered"]
        let haystack = Array(subject.lowercased().utf8) + [10] + Array(text.prefix(2000))
        return words.contains { ByteSearch.find(Array($0.utf8), in: haystack, from: 0) != nil }
    }

    /// Phrases that say a failure is not final yet.
    static let transientPhrases = ["temporary error", "temporary problem", "will retry", "will continue to try", "delayed", "has not yet been delivered",
                                   "not been delivered yet", "is still being retried", "will be retried"].map { Array($0.utf8) }

    /// Local parts of mail systems, never a recipient of ours.
    static let systemLocalParts: Set<String> = ["mailer-daemon", "postmaster", "noreply", "no-reply", "double-bounce", "mailer_daemon"]

    /// Recipients of a text bounce: each address the text names, in order (the excluded ones,
    /// those on sender and Message-ID lines and the mail systems' own left out), with the
    /// status and diagnostic found in the text that follows it up to the next address. Exim's
    /// `X-Failed-Recipients`, when present, says which they are.
    static func recipients(in text: [UInt8], lower: [UInt8], excluding: Set<String>, ids: Set<String>, failed: [String]) -> [BounceReport.Recipient] {
        var found: [(address: String, start: Int, end: Int)] = []
        var seen = Set<String>()
        var lineStart = 0
        var scanned = 0
        for match in addressMatches(in: text) {
            while scanned < match.start {
                if text[scanned] == 10 { lineStart = scanned + 1 }
                scanned += 1
            }
            let local = match.address.split(separator: "@").first.map(String.init) ?? ""
            if systemLocalParts.contains(local) || excluding.contains(match.address) || ids.contains(match.address) { continue }
            if isSenderOrIDLine(lower[max(lineStart, match.start - 120)..<match.start], atLineStart: lineStart >= match.start - 120) { continue }
            if seen.insert(match.address).inserted { found.append(match) }
        }
        if !failed.isEmpty {
            // Looked up by address: a search of the text's addresses for each failed one takes
            // time quadratic in the size of a report that names thousands.
            let mentions = Dictionary(found.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
            found = failed.map { address in mentions[address] ?? (address, text.count, text.count) }
        }
        let anyTransient = transientPhrases.contains { ByteSearch.find($0, in: lower, from: 0) != nil }
            && ByteSearch.find(Array("permanent error".utf8), in: lower, from: 0) == nil
        let wholeStatus = enhancedStatus(in: text[...], classes: [4, 5]) ?? basicStatus(in: text[...])
        let wholeDiagnostic = diagnosticLine(in: text[...])
        var recipients: [BounceReport.Recipient] = []
        for (index, item) in found.enumerated() {
            // Exchange names the address before the details, and again in them: look from
            // this mention to the next address's first mention, else in the whole text.
            let next = found.dropFirst(index + 1).map(\.start).filter { $0 > item.start }.min() ?? text.count
            let segment = text[min(item.start, text.count)..<max(min(item.start, text.count), next)]
            let status = enhancedStatus(in: segment, classes: [4, 5]) ?? basicStatus(in: segment) ?? wholeStatus
            let diagnostic = diagnosticLine(in: segment) ?? explanation(after: item.end, in: text, before: next) ?? wholeDiagnostic
            var recipient = BounceReport.Recipient(finalRecipient: item.address, status: status, diagnostic: diagnostic)
            switch status?.first {
            case "4": recipient.action = .delayed
            case "5": recipient.action = .failed
            default: recipient.action = anyTransient ? .delayed : .failed
            }
            if recipient.status == nil && anyTransient { recipient.status = "4.0.0" }
            recipients.append(recipient)
            // A plain-text bounce lists few recipients; past that it is quoting something else.
            if recipients.count == 20 { break }
        }
        return recipients
    }

    /// Whether the text before an address on its line makes it no recipient: a sender field
    /// (`From:`, `Reply-To:`, `Return-Path:`, `Sender:`) or a Message-ID (`Message-ID: <…>`,
    /// `In-Reply-To`, `References`, `(ID abc@host)`).
    static func isSenderOrIDLine(_ before: ArraySlice<UInt8>, atLineStart: Bool) -> Bool {
        let prefix = Array(before.drop { $0 == 32 || $0 == 9 })
        if atLineStart {
            for field in ["from:", "reply-to:", "return-path:", "sender:", "errors-to:"] where prefix.starts(with: field.utf8) { return true }
        }
        for label in ["message-id", "message id", "msgid", "msg-id", "in-reply-to", "references:"]
        where ByteSearch.find(Array(label.utf8), in: prefix, from: 0) != nil {
            return true
        }
        // The last word before the address is "id".
        let trimmed = prefix.reversed().drop { $0 == 32 || $0 == 9 || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "(") || $0 == UInt8(ascii: "[") }
        let word = trimmed.prefix { isLetter($0) }
        return Array(word) == Array("di".utf8)
    }

    /// Every address in `text` with its byte range, lower case; found by looking around each
    /// `@`, so that a long run of letters costs one pass rather than one pass for each letter.
    static func addressMatches(in text: [UInt8]) -> [(address: String, start: Int, end: Int)] {
        var matches: [(address: String, start: Int, end: Int)] = []
        var floor = 0
        var index = 0
        while index < text.count {
            guard text[index] == UInt8(ascii: "@") else { index += 1; continue }
            var start = index
            while start > floor, isLocalByte(text[start - 1]) { start -= 1 }
            var end = index + 1
            while end < text.count, isDomainByte(text[end]) { end += 1 }
            // An address ends at its last letter or digit ("ann@example.org." ends a sentence).
            while end > index + 1, text[end - 1] == UInt8(ascii: ".") || text[end - 1] == UInt8(ascii: "-") { end -= 1 }
            while start < index, text[start] == UInt8(ascii: ".") { start += 1 }
            let domain = text[(index + 1)..<end]
            let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            if start < index, labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }) {
                let address = String(decoding: text[start..<end].map(asciiLower), as: UTF8.self)
                matches.append((address, start, end))
            }
            index = max(end, index + 1)
            floor = index
        }
        return matches
    }

    /// The remote server's words: the line with an SMTP code, joined with the indented lines
    /// that continue it.
    static func diagnosticLine(in text: ArraySlice<UInt8>) -> String? {
        var lineStart = text.startIndex
        while lineStart < text.endIndex {
            let newline = text[lineStart...].firstIndex(of: 10) ?? text.endIndex
            let line = text[lineStart..<newline]
            if replyCodeIndex(in: line, requireWord: false) != nil || enhancedStatus(in: line, classes: [4, 5]) != nil || hasHashCode(line) {
                var diagnostic = String(decoding: line, as: UTF8.self).trimmingSpaces
                var next = newline + 1
                while next < text.endIndex, text[next] == 32 || text[next] == 9, diagnostic.utf8.count < 800 {
                    let end = text[next...].firstIndex(of: 10) ?? text.endIndex
                    let continuation = String(decoding: text[next..<end], as: UTF8.self).trimmingSpaces
                    if continuation.isEmpty { break }
                    diagnostic += " " + continuation
                    next = end + 1
                }
                return String(diagnostic.prefix(1000))
            }
            lineStart = newline + 1
        }
        return nil
    }

    /// qmail's `(#5.1.1)`.
    static func hasHashCode(_ line: ArraySlice<UInt8>) -> Bool {
        var index = line.startIndex
        while index + 2 < line.endIndex {
            if line[index] == UInt8(ascii: "#"), line[index + 1] == 52 || line[index + 1] == 53, line[index + 2] == UInt8(ascii: ".") { return true }
            index += 1
        }
        return false
    }

    /// The words after an address up to the end of its paragraph, when no line has a code:
    /// Exim puts the reason on the indented lines under the address ("Unrouteable address",
    /// "retry timeout exceeded").
    static func explanation(after end: Int, in text: [UInt8], before limit: Int) -> String? {
        guard end < limit else { return nil }
        var out: [UInt8] = []
        var index = end
        var sawText = false
        var space = false
        while index < limit, out.count < 300 {
            let byte = text[index]
            if byte == 10 {
                // An empty line after the first words ends the paragraph.
                var look = index + 1
                while look < limit, text[look] == 32 || text[look] == 9 { look += 1 }
                if sawText, look < limit, text[look] == 10 { break }
                space = true
            } else if byte == 32 || byte == 9 {
                space = true
            } else if !sawText && (byte == UInt8(ascii: ">") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ",") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\"")) {
                // The punctuation that closes "<ann@example.org>:".
            } else {
                if space && sawText { out.append(32) }
                space = false
                sawText = true
                out.append(byte)
            }
            index += 1
        }
        return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
    }

    /// Text of an HTML part, well enough to find addresses and codes in it.
    static func plain(fromHTML html: String) -> String {
        var out = ""
        var inTag = false
        for character in html {
            if character == "<" { inTag = true; continue }
            // Every tag ends a line: table cells and <br> separate an address from its reason.
            if character == ">" { inTag = false; out.append("\n"); continue }
            if !inTag { out.append(character) }
        }
        return out.replacing("&nbsp;", with: " ").replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&amp;", with: "&")
    }

    /// A read receipt (RFC 8098): automatic, but no bounce.
    static func isReadReceipt(_ message: MIMEPart, all: [MIMEPart]) -> Bool {
        all.contains { $0.contentType == "message/disposition-notification" || $0.contentType == "message/global-disposition-notification" }
            || (message.contentType == "multipart/report" && message.contentTypeParameter("report-type")?.lowercased() == "disposition-notification")
    }

    // MARK: Bytes

    static func asciiLower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
    static func isLetter(_ byte: UInt8) -> Bool { (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) }
    static func isLocalByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "%")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "=")
    }
    static func isDomainByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
}

extension StringProtocol {
    /// Without white space anywhere: `< >` → `<>`.
    var replacingSpaces: String { String(filter { $0 != " " && $0 != "\t" }) }

    /// Without the given characters at either end.
    func trimming(_ set: String) -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, set.unicodeScalars.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.unicodeScalars.contains(last) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
