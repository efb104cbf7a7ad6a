import Foundation
import Testing
@testable import Mail

/// Messages the builder makes, checked by reading them back with Python's `email` package.
@Suite struct MIMETests {
    static let longLine = String(repeating: "0123456789 abcdefghij ÄÖÜ ", count: 80)   // > 2,000 characters
    static let png: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 13) }
    static let pdf: [UInt8] = Array("%PDF-1.4\n".utf8) + (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

    /// A representative set: non-ASCII names and subjects, long lines, leading dots,
    /// attachments, inline images, unsubscribe headers.
    static func samples() -> [(String, MailMessage)] {
        var plain = MailMessage(from: MailAddress("news@example.com"), to: [MailAddress("ann@example.org")], subject: "Hello")
        plain.textBody = "Hi Ann,\n.\n.leading dot\n..two dots\nbye\n"
        plain.messageID = "fixed.1@example.com"

        var rich = MailMessage(
            from: MailAddress("news@example.com", name: "Zoë Ørsted — Équipe"),
            to: [MailAddress("ann@example.org", name: "Ann \"the\" Smith"), MailAddress("bob@example.org", name: "Бориc Иванов")],
            subject: "Grüße aus Köln 🎉 — " + String(repeating: "ein sehr langer Betreff ", count: 8)
        )
        rich.cc = [MailAddress("carol@example.org", name: "Carol")]
        rich.replyTo = [MailAddress("reply+42@example.com", name: "Replies, Inc.")]
        rich.textBody = "Line one\n" + longLine + "\n.dot line\ntrailing space \nend"
        rich.htmlBody = "<p>Hallo <b>Welt</b> = 1</p>\n<p>" + longLine + "</p>\n<img src=\"cid:logo@example.com\">"
        rich.inlineImages = [MailMessage.InlineImage(contentID: "logo@example.com", filename: "logo.png", contentType: "image/png", data: png)]
        rich.attachments = [
            MailMessage.Attachment(filename: "report.pdf", contentType: "application/pdf", data: pdf),
            MailMessage.Attachment(filename: "Übersicht März 2026 — sehr langer Dateiname mit Umlauten äöü.txt", contentType: "text/plain", data: Array("a\r\nb".utf8)),
        ]
        rich.listUnsubscribe = MailMessage.ListUnsubscribe(urls: ["https://example.com/u/abc123", "mailto:unsub@example.com?subject=u"], oneClick: true)
        rich.headers = [(name: "X-Campaign", value: "spring sale ✿"), (name: "X-Plain", value: "a  b")]
        rich.inReplyTo = ["orig.1@example.org"]
        rich.references = ["orig.0@example.org", "orig.1@example.org"]

        var htmlOnly = MailMessage(from: MailAddress("a@example.com", name: "A"), to: [MailAddress("b@example.com")], subject: "=?not-an-encoded-word?=")
        htmlOnly.htmlBody = "<p>only html</p>"

        return [("plain", plain), ("rich", rich), ("htmlOnly", htmlOnly)]
    }

    struct Parsed: Decodable {
        struct Part: Decodable {
            var type: String
            var filename: String?
            var content_id: String?
            var disposition: String?
            var defects: [String]
            var data: String?
            var text: String?
        }
        var headers: [[String]]
        var defects: [String]
        var parts: [Part]
        var max_line: Int
        var bare_lf: Bool
        var eight_bit: Bool
        var from: [[String]]?
        var to: [[String]]?
        var cc: [[String]]?

        func header(_ name: String) -> String? {
            headers.first { $0[0].lowercased() == name.lowercased() }?[1]
        }
    }

    static func parse(_ bytes: [UInt8]) async throws -> Parsed {
        let path = Peers.temporaryDirectory() + "/m.eml"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let output = try await Peers.run(["python3", Peers.directory + "/parse_message.py", path])
        guard output.status == 0 else { throw PeerError("parse_message.py: \(output.stderr)") }
        return try JSONDecoder().decode(Parsed.self, from: Data(output.stdout.utf8))
    }

    @Test func pythonReadsBackWhatWeBuilt() async throws {
        guard Peers.available(await Peers.hasPythonModule("email"), "python3") else { return }
        for (name, message) in Self.samples() {
            let bytes = try message.render()
            let parsed = try await Self.parse(bytes)
            #expect(parsed.defects.isEmpty, "\(name): \(parsed.defects)")
            #expect(parsed.parts.allSatisfy { $0.defects.isEmpty }, "\(name)")
            #expect(parsed.max_line <= 78, "\(name): a line of \(parsed.max_line)")
            #expect(!parsed.bare_lf, "\(name)")
            #expect(!parsed.eight_bit, "\(name)")
            #expect(parsed.header("Subject") == message.subject, "\(name)")
            #expect(parsed.from?.first == [message.from.name ?? "", message.from.address])
            #expect(parsed.to?.map { $0[0] } == message.to.map { $0.name ?? "" })
            #expect(parsed.to?.map { $0[1] } == message.to.map(\.address))
            if let id = message.messageID { #expect(parsed.header("Message-ID") == "<\(id)>") }
            let texts = parsed.parts.filter { $0.type == "text/plain" && $0.disposition == nil }.compactMap(\.text)
            // Python keeps the CRLF of the wire format in decoded text; compare lines.
            func lines(_ text: String?) -> String? { text?.replacingOccurrences(of: "\r\n", with: "\n") }
            if let text = message.textBody {
                #expect(lines(texts.first) == text, "\(name): text body differs")
            }
            if let html = message.htmlBody {
                #expect(lines(parsed.parts.first { $0.type == "text/html" }?.text) == html, "\(name): html body differs")
            }
            for attachment in message.attachments {
                let part = parsed.parts.first { $0.filename == attachment.filename }
                #expect(part?.disposition == "attachment", "\(name): \(attachment.filename)")
                #expect(part.flatMap { $0.data.flatMap { Data(base64Encoded: $0) } } == Data(attachment.data), "\(name): \(attachment.filename) bytes")
            }
            for image in message.inlineImages {
                let part = parsed.parts.first { $0.content_id == "<\(image.contentID)>" }
                #expect(part?.disposition == "inline")
                #expect(part.flatMap { $0.data.flatMap { Data(base64Encoded: $0) } } == Data(image.data))
            }
        }
    }

    @Test func structureAndHeaderOrder() throws {
        let (_, rich) = Self.samples()[1]
        let text = String(decoding: try rich.render(boundarySeed: "seed"), as: UTF8.self)
        let names = text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
            .filter { !$0.hasPrefix(" ") && !$0.hasPrefix("\t") }.map { String($0.prefix { $0 != ":" }) }
        #expect(names == ["Date", "From", "Reply-To", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References",
                          "List-Unsubscribe", "List-Unsubscribe-Post", "X-Campaign", "X-Plain", "MIME-Version", "Content-Type"])
        #expect(text.contains("Content-Type: multipart/mixed;\r\n boundary=\"=_seed_3\""))
        #expect(text.contains("Content-Type: multipart/related;\r\n boundary=\"=_seed_2\""))
        #expect(text.contains("Content-Type: multipart/alternative;\r\n boundary=\"=_seed_1\""))
        #expect(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"))
        // Deterministic apart from Date and a generated Message-ID.
        var fixed = rich
        fixed.date = Date(timeIntervalSince1970: 1_800_000_000)
        fixed.messageID = "fixed@example.com"
        #expect(try fixed.render(boundarySeed: "s") == fixed.render(boundarySeed: "s"))
        #expect(text.contains("Date: "))
    }

    @Test func encodedWordsAreShortAndWhole() throws {
        let subject = String(repeating: "é🎉ß", count: 40)
        let words = HeaderEncoding.encodedWords(subject)
        #expect(words.allSatisfy { $0.count <= 75 })
        let decoded = words.map { word -> String in
            let inner = word.dropFirst(10).dropLast(2)
            return String(decoding: Base64.decode(inner)!, as: UTF8.self)
        }
        #expect(decoded.joined() == subject)
        #expect(!decoded.contains { $0.contains("\u{FFFD}") })
    }

    /// The one-line way for a plain From or To writes what folding the address's tokens
    /// writes, and leaves every other address to it.
    @Test(arguments: [
        (MailAddress("ann@example.org"), true),
        (MailAddress("ann@example.org", name: "Ann Smith"), true),
        (MailAddress("ann@example.org", name: "Ann"), true),
        (MailAddress("o'brien+news@example.org", name: "Seán"), false),
        (MailAddress("ann@example.org", name: "Smith, Ann"), false),
        (MailAddress("ann@example.org", name: " Ann"), false),
        (MailAddress("ann@example.org", name: "Ann "), false),
        (MailAddress("ann@example.org", name: "Ann  Smith"), false),
        (MailAddress("ann@example.org", name: ""), true),
        (MailAddress("ann@example.org", name: "Ann \"the\" Smith"), false),
        (MailAddress("a.very.long.local.part.indeed@a-very-long-domain-name.example.org", name: "Annabelle Smithsonian"), false),
        (MailAddress(String(repeating: "x", count: 62) + "@example.org"), true),
        (MailAddress(String(repeating: "x", count: 63) + "@example.org"), false),
    ])
    func aPlainAddressOnOneLineIsWhatFoldingWrites(address: MailAddress, plain: Bool) throws {
        let checked = try address.validated(field: "To")
        let general = HeaderEncoding.fold(name: "To", tokens: checked.headerTokens())
        let fast = MailMessage.plainAddressField("To", checked)
        #expect((fast != nil) == plain)
        if let fast { #expect(fast == general) }
        #expect(fast == nil || !general.dropLast(2).contains("\r\n"))
    }

    /// A Subject or custom header written at once is what folding its tokens writes.
    @Test(arguments: ["Hello", "", "Two  spaces", "tab\there", "Grüße aus Köln", "looks =?like?= a word",
                      "News for you, Ann: the March issue", String(repeating: "word ", count: 20),
                      String(repeating: "x", count: 69), String(repeating: "x", count: 70), " leading", "trailing "])
    func anUnstructuredFieldIsWhatFoldingWrites(value: String) {
        #expect(HeaderEncoding.unstructuredField(name: "Subject", value: value)
                == HeaderEncoding.fold(name: "Subject", tokens: HeaderEncoding.unstructuredTokens(value)))
    }

    /// One address in a field, which takes the plain way when it can, is checked as a list is.
    @Test(arguments: [MailAddress("no-at-sign"), MailAddress("@example.org"), MailAddress("ann@"),
                      MailAddress("ann@example.org", name: "Ann\r\nBcc: x@y")])
    func aSingleAddressIsStillChecked(address: MailAddress) {
        let message = MailMessage(from: MailAddress("a@example.com"), to: [address], subject: "ok")
        #expect(throws: MailError.self) { try message.render() }
        let two = MailMessage(from: MailAddress("a@example.com"), to: [MailAddress("b@example.com"), address], subject: "ok")
        #expect(throws: MailError.self) { try two.render() }
    }

    @Test func dateFormat() {
        #expect(MailMessage.formatDate(Date(timeIntervalSince1970: 0)) == "Thu, 1 Jan 1970 00:00:00 +0000")
        #expect(MailMessage.formatDate(Date(timeIntervalSince1970: 1_795_000_000)) == "Wed, 18 Nov 2026 11:06:40 +0000")
        #expect(MailMessage.formatDate(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(MailMessage.formatDate(Date(timeIntervalSince1970: -1)) == "Wed, 31 Dec 1969 23:59:59 +0000")
        // The arithmetic agrees with the calendar on dates from 1901 to 2100.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, d MMM yyyy HH:mm:ss '+0000'"
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: TimeInterval(Int64.random(in: -2_177_452_800...4_102_444_800)))
            #expect(MailMessage.formatDate(date) == formatter.string(from: date))
        }
    }

    @Test func quotedPrintable() {
        let encoded = String(decoding: QuotedPrintable.encode("a=b tail \nÄ\n" + String(repeating: "x", count: 200)), as: UTF8.self)
        #expect(encoded.hasPrefix("a=3Db tail=20\r\n=C3=84\r\n"))
        #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.count <= 76 })
        #expect(String(decoding: QuotedPrintable.encode("a \r\nb\r"), as: UTF8.self) == "a=20\r\nb")
        #expect(QuotedPrintable.encode("").isEmpty)
        #expect(String(decoding: QuotedPrintable.encode("\n\n"), as: UTF8.self) == "\r\n\r\n")
    }

    /// Any text comes back from the decoder as it went in (line ends as CRLF), in lines of at
    /// most 76 characters, 7-bit.
    @Test func quotedPrintableRoundTrips() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "x", " ", "\t", "=", "Ä", "€", "\n", "\r\n", ".", "\u{7F}", "~", "word "]
        for _ in 0..<400 {
            let text = (0..<Int.random(in: 0...300, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let encoded = QuotedPrintable.encode(text)
            #expect(encoded.allSatisfy { $0 < 128 })
            let lines = String(decoding: encoded, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(lines.allSatisfy { $0.utf8.count <= 76 && !$0.contains("\r") && !$0.contains("\n") })
            #expect(lines.allSatisfy { $0.last != " " && $0.last != "\t" })
            let expected = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
            #expect(String(decoding: QuotedPrintable.decode(encoded[...]), as: UTF8.self) == expected, "\(text.debugDescription)")
        }
    }

    @Test func headerInjectionIsRefused() {
        let base = MailMessage(from: MailAddress("a@example.com"), to: [MailAddress("b@example.com")], subject: "ok")
        var message = base
        message.subject = "hi\r\nBcc: victim@example.org"
        #expect(throws: MailError.self) { try message.render() }
        message = base
        message.to = [MailAddress("b@example.com", name: "B\nBcc: x@y")]
        #expect(throws: MailError.self) { try message.render() }
        message = base
        message.headers = [(name: "X-Ok", value: "a\rb")]
        #expect(throws: MailError.self) { try message.render() }
        message = base
        message.headers = [(name: "X Bad", value: "v")]
        #expect(throws: MailError.self) { try message.render() }
        message = base
        message.headers = [(name: "Content-Type", value: "text/evil")]
        #expect(throws: MailError.self) { try message.render() }
        message = base
        message.messageID = "abc\r\n@x"
        #expect(throws: MailError.self) { try message.render() }
        message = base
        message.listUnsubscribe = .init(urls: ["https://x/\r\nBcc: y"])
        #expect(throws: MailError.self) { try message.render() }
        message = base
        message.from = MailAddress("no at sign")
        do {
            _ = try message.render()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidAddress)
            #expect(error.message.contains("From"))
        }
    }

    @Test func envelopeValidation() {
        #expect(throws: MailError.self) { try Envelope(returnPath: "a@b", recipients: []) }
        #expect(throws: MailError.self) { try Envelope(returnPath: "a@b", recipients: ["x@y>\r\nRCPT TO:<z@w"]) }
        #expect(throws: MailError.self) { try Envelope(returnPath: "a b@c", recipients: ["x@y"]) }
        #expect((try? Envelope(returnPath: "", recipients: ["x@y"])) != nil)
    }
}
