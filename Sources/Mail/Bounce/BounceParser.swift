import Foundation

extension BounceReport {
    /// Reads a received message as a bounce; nil when it is not one (no delivery-status part
    /// and no failed recipient that the text names).
    public init?(parsing bytes: some Collection<UInt8>) {
        self.init(message: MIMEPart(parsing: bytes))
    }

    /// Reads an already parsed message as a bounce; nil when it is not one.
    public init?(message: MIMEPart) {
        let all = message.allParts
        let reportID = message.header("Message-ID").flatMap(BounceText.messageID)
        if let status = all.first(where: { $0.contentType == "message/delivery-status" || $0.contentType == "message/global-delivery-status" }) {
            var report = BounceText.deliveryStatus(status.text)
            report.reportMessageID = reportID
            report.originalMessageID = BounceText.returnedMessageID(in: all)
            // RFC 3464 §2.3.6 leaves the diagnostic optional; the human part often has it.
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

/// The readings behind ``BounceReport/init(message:)``.
enum BounceText {
    /// `<id>` or `id` → `id`; nil when empty.
    static func messageID(_ value: String) -> String? {
        var text = value.trimmingSpaces
        if let open = text.firstIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = String(text[text.index(after: open)..<close])
        }
        return text.isEmpty || text.contains(" ") ? nil : text
    }

    /// `rfc822; Ann@Example.org` → `ann@example.org` (RFC 3464 §2.3.2: address-type ";" address).
    static func typed(_ value: String) -> String {
        let text = value.firstIndex(of: ";").map { String(value[value.index(after: $0)...]) } ?? value
        return text.trimmingSpaces
    }

    static func address(_ value: String) -> String? {
        var text = typed(value)
        if text.hasPrefix("<") && text.hasSuffix(">") { text = String(text.dropFirst().dropLast()) }
        return text.contains("@") ? text.lowercased() : nil
    }

    /// RFC 3464 §2.1: per-message fields, then a block of per-recipient fields for each recipient.
    static func deliveryStatus(_ text: String) -> BounceReport {
        var report = BounceReport(format: .deliveryStatus, recipients: [])
        // Blocks are separated by empty lines; some MTAs put white space on them.
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        var blocks: [[String]] = [[]]
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingSpaces.isEmpty {
                if !(blocks.last?.isEmpty ?? true) { blocks.append([]) }
            } else {
                blocks[blocks.count - 1].append(String(line))
            }
        }
        for block in blocks where !block.isEmpty {
            let fields = MIMEParser.headers(ArraySlice(block.joined(separator: "\n").utf8))
            func field(_ name: String) -> String? { fields.first { $0.name.caseInsensitiveEquals(name) }?.value }
            if field("Final-Recipient") != nil || field("Original-Recipient") != nil {
                var recipient = BounceReport.Recipient(
                    finalRecipient: field("Final-Recipient").flatMap(address),
                    originalRecipient: field("Original-Recipient").flatMap(address),
                    action: field("Action").flatMap { BounceReport.Action(rawValue: $0.trimmingSpaces.lowercased()) },
                    status: field("Status").flatMap { enhancedStatus(in: $0) },
                    diagnostic: field("Diagnostic-Code").map(typed).flatMap { $0.isEmpty ? nil : String($0.prefix(1000)) },
                    remoteMTA: field("Remote-MTA").map(typed))
                if recipient.status == nil, let diagnostic = recipient.diagnostic { recipient.status = enhancedStatus(in: diagnostic) }
                report.recipients.append(recipient)
            } else if let mta = field("Reporting-MTA") {
                report.reportingMTA = typed(mta)
            }
        }
        return report
    }

    /// The Message-ID of the returned message: from a `message/rfc822` part, a
    /// `text/rfc822-headers` part (RFC 6522), or a `Message-ID:` line in a returned copy.
    static func returnedMessageID(in parts: [MIMEPart]) -> String? {
        for part in parts.dropFirst() {
            switch part.contentType {
            case "message/rfc822", "message/global":
                if let id = part.parts.first?.header("Message-ID").flatMap(messageID) { return id }
            case "text/rfc822-headers", "message/global-headers":
                if let id = MIMEPart(parsingHeaders: part.body).header("Message-ID").flatMap(messageID) { return id }
            default:
                continue
            }
        }
        // A forwarded copy as plain text (qmail, Exim, older Exchange).
        for part in parts.dropFirst() where part.contentType.hasPrefix("text/") || part.parts.isEmpty {
            if let id = messageIDLine(in: part.text) { return id }
        }
        return parts.count == 1 ? messageIDLine(in: parts[0].text) : nil
    }

    static func messageIDLine(in text: String) -> String? {
        guard let match = text.firstMatch(of: #/(?im)^[ \t]*Message-ID:[ \t]*(<[^>\r\n]+>)/#) else { return nil }
        return messageID(String(match.output.1))
    }

    /// `5.1.1` from a Status field or free text; nil when there is none.
    static func enhancedStatus(in text: some StringProtocol) -> String? {
        guard let match = String(text).firstMatch(of: #/(?:^|[^\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)/#) else { return nil }
        return "\(match.output.1).\(match.output.2).\(match.output.3)"
    }

    /// Where a bounce's text stops and the copy of the returned message begins.
    static let copyMarkers = [
        "--- Below this line is a copy of the message",        // qmail
        "------ This is a copy of the message",                 // Exim
        "------ This is a copy of the body of the message",     // Exim, body only
        "----- Original message -----",
        "Original message headers:",                            // Exchange
        "----- The header of the original message is following",
    ]

    static func fromText(_ message: MIMEPart, all: [MIMEPart]) -> BounceReport? {
        // The human-readable part: the first text part outside any returned message.
        var text = ""
        func collect(_ part: MIMEPart) {
            if part.contentType == "message/rfc822" || part.contentType == "message/global" || part.contentType == "text/rfc822-headers" { return }
            if !part.parts.isEmpty {
                for child in part.parts { collect(child) }
            } else if part.contentType == "text/plain" {
                text += part.text + "\n"
            } else if part.contentType == "text/html" && text.isEmpty {
                text += plain(fromHTML: part.text) + "\n"
            }
        }
        collect(message)
        text = text.replacingOccurrences(of: "\r\n", with: "\n")
        var copy = ""
        for marker in copyMarkers {
            if let range = text.range(of: marker, options: .caseInsensitive) {
                copy = String(text[range.lowerBound...])
                text = String(text[..<range.lowerBound])
                break
            }
        }
        let subject = message.header("Subject") ?? ""
        let format = self.format(text: text, subject: subject, from: message.header("From") ?? "")
        let recipients = self.recipients(in: text, format: format)
        guard !recipients.isEmpty else { return nil }
        // Only a text that reads like a bounce is one: a reply that happens to quote an address is not.
        guard format != .text || looksLikeBounce(subject: subject, from: message.header("From") ?? "", text: text) else { return nil }
        let original = returnedMessageID(in: all) ?? messageIDLine(in: copy)
        return BounceReport(format: format, recipients: recipients, originalMessageID: original)
    }

    static func format(text: String, subject: String, from: String) -> BounceReport.Format {
        func has(_ needle: String) -> Bool { text.range(of: needle, options: .caseInsensitive) != nil }
        if has("This is the qmail-send program") { return .qmail }
        if has("This message was created automatically by mail delivery software") || has("following address(es) failed") { return .exim }
        if has("This is the mail system at host") || has("This is the Postfix program") { return .postfix }
        if has("Delivery has failed to these recipients") || has("Remote Server returned") || has("RESOLVER.ADR") || has("Diagnostic information for administrators") || has("couldn't be delivered to") { return .exchange }
        if from.lowercased().contains("googlemail.com") || has("Address not found") || has("wasn't delivered to") || has("There was a temporary problem delivering your message") { return .gmail }
        return .text
    }

    static func looksLikeBounce(subject: String, from: String, text: String) -> Bool {
        let sender = from.lowercased()
        if sender.contains("mailer-daemon") || sender.contains("postmaster") { return true }
        let words = ["undeliver", "delivery status", "delivery failure", "returned mail", "failure notice", "delivery has failed", "could not be delivered", "not be delivered", "delivery problem", "delayed mail", "warning: message"]
        let haystack = (subject + "\n" + text.prefix(2000)).lowercased()
        return words.contains { haystack.contains($0) }
    }

    /// Phrases that say a failure is not final yet.
    static let transientPhrases = ["temporary error", "temporary problem", "will retry", "will continue to try", "delayed", "has not yet been delivered", "not been delivered yet", "is still being retried", "will be retried"]

    /// Recipients of a text bounce: each address the text names, in order (the reporting
    /// system's own and the returned headers' excluded), with the status and diagnostic found
    /// in the text that follows it up to the next address.
    static func recipients(in text: String, format: BounceReport.Format) -> [BounceReport.Recipient] {
        var found: [(address: String, range: Range<String.Index>)] = []
        var seen = Set<String>()
        for match in text.matches(of: #/[A-Za-z0-9._%+\-=]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+/#) {
            let address = String(match.output).trimmingCharacters(in: CharacterSet(charactersIn: ".")).lowercased()
            let local = address.split(separator: "@").first.map(String.init) ?? ""
            if ["mailer-daemon", "postmaster", "noreply", "no-reply"].contains(local) { continue }
            // Addresses on From:/Reply-To: lines are the sender's, not a recipient's.
            let lineStart = text[..<match.range.lowerBound].lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
            let linePrefix = text[lineStart..<match.range.lowerBound].trimmingSpaces.lowercased()
            if ["from:", "reply-to:", "return-path:", "sender:", "return-path: <", "from: <"].contains(where: { linePrefix.hasPrefix($0) }) { continue }
            if seen.insert(address).inserted { found.append((address, match.range)) }
        }
        let anyTransient = transientPhrases.contains { text.range(of: $0, options: .caseInsensitive) != nil }
            && text.range(of: "permanent error", options: .caseInsensitive) == nil
        var recipients: [BounceReport.Recipient] = []
        for (index, item) in found.enumerated() {
            let end = index + 1 < found.count ? found[index + 1].range.lowerBound : text.endIndex
            // Exchange names the address before the details, and again in them: look
            // from this mention to the next address's first mention, else in the whole text.
            let segment = text[item.range.lowerBound..<end]
            let status = enhancedStatus(in: segment) ?? basicStatus(in: segment) ?? enhancedStatus(in: text) ?? basicStatus(in: text)
            let diagnostic = diagnosticLine(in: segment) ?? diagnosticLine(in: Substring(text))
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

    /// A bare SMTP reply code in text (`550 User unknown`) as a status class `5.0.0`.
    static func basicStatus(in text: some StringProtocol) -> String? {
        guard let match = String(text).firstMatch(of: #/(?:^|[^\d.#])([45])[0-9][0-9][ \-](?=[A-Za-z#<])/#) else { return nil }
        return "\(match.output.1).0.0"
    }

    /// The remote server's words: the line with an SMTP code, joined with the indented lines
    /// that continue it.
    static func diagnosticLine(in text: Substring) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            guard line.firstMatch(of: #/(?:^|[^\d.])[45][0-9][0-9][ \-]|[45]\.\d{1,3}\.\d{1,3}|#[45]\.\d/#) != nil else { continue }
            var diagnostic = line.trimmingSpaces
            var next = index + 1
            while next < lines.count, let first = lines[next].first, first == " " || first == "\t", diagnostic.count < 800 {
                diagnostic += " " + lines[next].trimmingSpaces
                next += 1
            }
            return String(diagnostic.prefix(1000))
        }
        return nil
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
        return out.replacingOccurrences(of: "&nbsp;", with: " ").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}
