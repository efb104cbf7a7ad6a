import Foundation
import Synchronization

/// An email to build: headers, text and HTML bodies, attachments and inline images.
/// ``render()`` turns it into RFC 5322 bytes, always 7-bit clean.
///
/// ```swift
/// var message = MailMessage(from: MailAddress("news@example.com", name: "Example News"),
///                           to: [MailAddress("ann@example.org", name: "Ann")],
///                           subject: "Grüße")
/// message.textBody = "Hello Ann"
/// message.htmlBody = "<p>Hello <b>Ann</b></p>"
/// message.messageID = "m-42.r-7@example.com"          // stable per recipient
/// message.listUnsubscribe = ListUnsubscribe(urls: ["https://example.com/u/TOKEN"], oneClick: true)
/// let bytes = try message.render()
/// ```
///
/// Headers come out in a fixed order (Date, From, Sender, Reply-To, To, Cc, Subject,
/// Message-ID, In-Reply-To, References, List-Unsubscribe, List-Unsubscribe-Post, custom
/// headers in the order given, MIME-Version, Content-*), folded at 78 columns. A CR or
/// LF in any header value makes ``render()`` throw instead of passing it on.
public struct MailMessage: Sendable {
    public var from: MailAddress
    /// RFC 5322 §3.6.2: set when someone else sends on behalf of `from`.
    public var sender: MailAddress?
    public var to: [MailAddress]
    public var cc: [MailAddress] = []
    public var replyTo: [MailAddress] = []
    public var subject: String
    public var date: Date = Date()
    /// Without angle brackets. When nil, a random one on the `from` domain is made;
    /// set it to make it stable (Herald: one per mass email and recipient).
    public var messageID: String?
    /// Message-IDs without angle brackets.
    public var inReplyTo: [String] = []
    public var references: [String] = []
    public var textBody: String?
    public var htmlBody: String?
    public var attachments: [Attachment] = []
    /// Images referenced from the HTML as `cid:` URLs (RFC 2392), sent in multipart/related.
    public var inlineImages: [InlineImage] = []
    public var listUnsubscribe: ListUnsubscribe?
    /// Extra header fields, written in this order after the standard ones.
    public var headers: [(name: String, value: String)] = []

    public init(from: MailAddress, to: [MailAddress], subject: String) {
        self.from = from
        self.to = to
        self.subject = subject
    }

    /// A file attached to the message (RFC 2183 `attachment`).
    public struct Attachment: Sendable, Hashable {
        public var filename: String
        /// e.g. `application/pdf`.
        public var contentType: String
        public var data: [UInt8]

        public init(filename: String, contentType: String, data: [UInt8]) {
            self.filename = filename
            self.contentType = contentType
            self.data = data
        }
    }

    /// An image shown inside the HTML via `<img src="cid:CONTENT-ID">`.
    public struct InlineImage: Sendable, Hashable {
        /// Without angle brackets, e.g. `logo@example.com`.
        public var contentID: String
        public var filename: String
        public var contentType: String
        public var data: [UInt8]

        public init(contentID: String, filename: String, contentType: String, data: [UInt8]) {
            self.contentID = contentID
            self.filename = filename
            self.contentType = contentType
            self.data = data
        }
    }

    /// RFC 2369 `List-Unsubscribe`, and RFC 8058 one-click when `oneClick` is set (which
    /// needs an https URL that accepts a POST).
    public struct ListUnsubscribe: Sendable, Hashable {
        public var urls: [String]
        public var oneClick: Bool

        public init(urls: [String], oneClick: Bool = true) {
            self.urls = urls
            self.oneClick = oneClick
        }
    }

    /// Fields that ``render()`` writes itself; a custom header may not set them.
    static let reservedHeaders: Set<String> = [
        "date", "from", "sender", "reply-to", "to", "cc", "bcc", "subject", "message-id", "in-reply-to",
        "references", "list-unsubscribe", "list-unsubscribe-post", "mime-version", "content-type",
        "content-transfer-encoding", "content-disposition", "content-id",
    ]

    /// The RFC 5322 message, lines ending in CRLF, 7-bit only.
    ///
    /// - Parameter boundarySeed: makes MIME boundaries deterministic (tests); random when nil.
    /// - Throws: ``MailError`` with ``MailError/Code/invalidHeader`` or
    ///   ``MailError/Code/invalidAddress`` naming the field at fault.
    public func render(boundarySeed: String? = nil) throws(MailError) -> [UInt8] {
        // Room for a mass email's usual header, so that it is not copied as it grows.
        var head = ""
        head.reserveCapacity(1_024)
        head += "Date: \(Self.formatDate(date))\r\n"
        head += try addressField("From", [from])
        if let sender { head += try addressField("Sender", [sender]) }
        if !replyTo.isEmpty { head += try addressField("Reply-To", replyTo) }
        if !to.isEmpty { head += try addressField("To", to) }
        if !cc.isEmpty { head += try addressField("Cc", cc) }
        try HeaderEncoding.checkValue(subject, field: "Subject")
        head += HeaderEncoding.unstructuredField(name: "Subject", value: subject)
        let id = messageID ?? "\(UUID().uuidString.lowercased())@\(from.domain)"
        try Self.checkMessageID(id, field: "Message-ID")
        head += "Message-ID: <"
        head += id
        head += ">\r\n"
        if !inReplyTo.isEmpty {
            for id in inReplyTo { try Self.checkMessageID(id, field: "In-Reply-To") }
            head += HeaderEncoding.fold(name: "In-Reply-To", tokens: inReplyTo.map { "<\($0)>" })
        }
        if !references.isEmpty {
            for id in references { try Self.checkMessageID(id, field: "References") }
            head += HeaderEncoding.fold(name: "References", tokens: references.map { "<\($0)>" })
        }
        if let listUnsubscribe {
            for url in listUnsubscribe.urls {
                try HeaderEncoding.checkValue(url, field: "List-Unsubscribe")
                guard url.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 && $0 != "<" && $0 != ">" && $0 != "," }) else {
                    throw MailError(.invalidHeader, "List-Unsubscribe: '\(url.prefix(80))' is not a plain ASCII URL", context: ["header": "List-Unsubscribe"])
                }
            }
            let tokens = listUnsubscribe.urls.map { "<\($0)>" }
            head += HeaderEncoding.fold(name: "List-Unsubscribe", tokens: tokens, separators: Array(repeating: ",", count: max(0, tokens.count - 1)))
            // RFC 8058 §3.1: exactly this value.
            if listUnsubscribe.oneClick { head += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" }
        }
        for header in headers {
            try HeaderEncoding.checkName(header.name)
            guard !Self.reservedHeaders.contains(header.name.lowercased()) else {
                throw MailError(.invalidHeader, "header \(header.name) is set by the message itself, not as a custom header", context: ["header": header.name])
            }
            try HeaderEncoding.checkValue(header.value, field: header.name)
            head += HeaderEncoding.unstructuredField(name: header.name, value: header.value)
        }
        head += "MIME-Version: 1.0\r\n"

        for image in inlineImages { try Self.checkMessageID(image.contentID, field: "Content-ID") }
        var boundaries = BoundaryMaker(seed: boundarySeed)
        // Innermost first, so that the numbering does not depend on the order of writing.
        let alternative = textBody != nil && htmlBody != nil ? boundaries.next() : nil
        let related = inlineImages.isEmpty ? nil : boundaries.next()
        let mixed = attachments.isEmpty ? nil : boundaries.next()
        // One buffer, written front to back (a mass email renders one message per recipient),
        // with room for quoted-printable's worst case so that it never grows; what is returned
        // is an exact copy, since a batch of messages is held until it is sent.
        var out: [UInt8] = []
        let parts = [textBody, htmlBody].compactMap { $0.map { QuotedPrintable.maximumEncodedCount($0.utf8.count) } }
        out.reserveCapacity(head.utf8.count + parts.reduce(0, +) + 2_048)
        out.append(contentsOf: head.utf8)
        if let mixed {
            try Self.writeMultipart("mixed", boundary: mixed, parts: 1 + attachments.count, into: &out) { (index, out) throws(MailError) in
                if index == 0 {
                    try writeRelated(related, alternative: alternative, into: &out)
                } else {
                    out += try Self.attachmentPart(attachments[index - 1])
                }
            }
        } else {
            try writeRelated(related, alternative: alternative, into: &out)
        }
        return out.withUnsafeBufferPointer { written in [UInt8](unsafeUninitializedCapacity: written.count) { copy, count in
            count = copy.initialize(from: written).1
        } }
    }

    // MARK: - Parts

    /// The HTML with its inline images (RFC 2387: the HTML is the root, the images follow
    /// it), or the text parts alone.
    private func writeRelated(_ related: String?, alternative: String?, into out: inout [UInt8]) throws(MailError) {
        guard let related else { return writeContent(alternative: alternative, into: &out) }
        try Self.writeMultipart("related", boundary: related, parameters: ";\r\n type=\"\(rootType)\"",
                                parts: 1 + inlineImages.count, into: &out) { (index, out) throws(MailError) in
            if index == 0 {
                writeContent(alternative: alternative, into: &out)
            } else {
                out += Self.inlinePart(inlineImages[index - 1])
            }
        }
    }

    private func writeContent(alternative: String?, into out: inout [UInt8]) {
        switch (textBody, htmlBody) {
        case (let text?, let html?):
            Self.writeMultipart("alternative", boundary: alternative ?? "", parts: 2, into: &out) { index, out in
                Self.writeTextPart(index == 0 ? text : html, subtype: index == 0 ? "plain" : "html", into: &out)
            }
        case (nil, let html?):
            Self.writeTextPart(html, subtype: "html", into: &out)
        case (let text, nil):
            Self.writeTextPart(text ?? "", subtype: "plain", into: &out)
        }
    }

    private var rootType: String {
        textBody != nil && htmlBody != nil ? "multipart/alternative" : (htmlBody != nil ? "text/html" : "text/plain")
    }

    /// Text as UTF-8 quoted-printable: safe over any relay, readable when it is ASCII.
    static func writeTextPart(_ text: String, subtype: String, into out: inout [UInt8]) {
        out.append(contentsOf: "Content-Type: text/".utf8)
        out.append(contentsOf: subtype.utf8)
        out.append(contentsOf: "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n".utf8)
        QuotedPrintable.encode(text, into: &out)
    }

    static func attachmentPart(_ attachment: Attachment) throws(MailError) -> [UInt8] {
        try checkContentType(attachment.contentType)
        try HeaderEncoding.checkValue(attachment.filename, field: "attachment filename")
        let header = "Content-Type: \(attachment.contentType);\(filenameParameter("name", attachment.filename))\r\n"
            + "Content-Disposition: attachment;\(filenameParameter("filename", attachment.filename))\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n"
        return Array(header.utf8) + Base64.encodeBytes(attachment.data, lineLength: 76)
    }

    static func inlinePart(_ image: InlineImage) -> [UInt8] {
        let header = "Content-Type: \(image.contentType);\(filenameParameter("name", image.filename))\r\n"
            + "Content-Disposition: inline;\(filenameParameter("filename", image.filename))\r\n"
            + "Content-ID: <\(image.contentID)>\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n"
        return Array(header.utf8) + Base64.encodeBytes(image.data, lineLength: 76)
    }

    /// RFC 2231 §4 `name*=utf-8''…` for names that are not plain ASCII, a quoted string
    /// otherwise; always on its own folded line.
    static func filenameParameter(_ name: String, _ value: String) -> String {
        if value.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 && $0 != "\"" && $0 != "\\" }) && value.utf8.count <= 60 {
            return "\r\n \(name)=\"\(value)\""
        }
        var encoded = ""
        for byte in value.utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || "!#$&+-.^_`|~".utf8.contains(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        // RFC 2231 §3: continuations name*0*, name*1*, … keep each line short.
        var pieces: [String] = []
        var rest = Substring(encoded)
        while !rest.isEmpty {
            var end = rest.index(rest.startIndex, offsetBy: min(48, rest.count))
            // Never cut a %XX escape.
            if let percent = rest[rest.index(end, offsetBy: -2, limitedBy: rest.startIndex)!..<end].firstIndex(of: "%") {
                end = percent
            }
            pieces.append(String(rest[..<end]))
            rest = rest[end...]
        }
        if pieces.count == 1 { return "\r\n \(name)*=utf-8''\(pieces[0])" }
        return pieces.enumerated().map { index, piece in
            "\r\n \(name)*\(index)*=\(index == 0 ? "utf-8''" : "")\(piece)" + (index < pieces.count - 1 ? ";" : "")
        }.joined()
    }

    /// Throws what writing a part throws: nothing for text parts, ``MailError`` for an attachment.
    static func writeMultipart<Failure: Error>(_ subtype: String, boundary: String, parameters: String = "", parts: Int,
                                               into out: inout [UInt8],
                                               _ writePart: (Int, inout [UInt8]) throws(Failure) -> Void) throws(Failure) {
        // In pieces, not interpolated: no string is made for a line (every message of a mass email has these).
        out.append(contentsOf: "Content-Type: multipart/".utf8)
        out.append(contentsOf: subtype.utf8)
        out.append(contentsOf: ";\r\n boundary=\"".utf8)
        out.append(contentsOf: boundary.utf8)
        out.append(contentsOf: "\"".utf8)
        out.append(contentsOf: parameters.utf8)
        out.append(contentsOf: "\r\n\r\n".utf8)
        for index in 0..<parts {
            out.append(contentsOf: "--".utf8)
            out.append(contentsOf: boundary.utf8)
            out.append(contentsOf: "\r\n".utf8)
            try writePart(index, &out)
            if out.last != 10 { out += [13, 10] }
        }
        out.append(contentsOf: "--".utf8)
        out.append(contentsOf: boundary.utf8)
        out.append(contentsOf: "--\r\n".utf8)
    }

    // MARK: - Checks and formats

    /// Each address is checked once, here; the plain or the general way then writes them.
    private func addressField(_ name: String, _ addresses: [MailAddress]) throws(MailError) -> String {
        if addresses.count == 1 {
            let checked = try addresses[0].validated(field: name)
            return Self.plainAddressField(name, checked) ?? Self.foldedAddressField(name, [checked])
        }
        return Self.foldedAddressField(name, try addresses.map { address throws(MailError) in try address.validated(field: name) })
    }

    /// The general way: every checked address's tokens folded, a comma between addresses.
    private static func foldedAddressField(_ name: String, _ checked: [MailAddress]) -> String {
        var tokens: [String] = []
        var separators: [String] = []
        for (index, address) in checked.enumerated() {
            let parts = address.headerTokens()
            if index > 0 { separators.append(",") }
            separators += Array(repeating: "", count: parts.count - 1)
            tokens += parts
        }
        return HeaderEncoding.fold(name: name, tokens: tokens, separators: separators)
    }

    /// The field of one address whose display name is atoms separated by single spaces (or
    /// absent) when it fits on one line: what ``HeaderEncoding/fold(name:tokens:separators:)``
    /// of its ``MailAddress/headerTokens()`` gives, written at once. Nil for any other, which
    /// takes the general way. Every message of a mass email has a From and a To.
    ///
    /// - Parameter checked: an address that ``MailAddress/validated(field:)`` returned.
    static func plainAddressField(_ field: String, _ checked: MailAddress) -> String? {
        let name = checked.name ?? ""
        let nameBytes = name.utf8
        if !nameBytes.isEmpty {
            var previousSpace = true  // no leading space
            for byte in nameBytes {
                if byte == 32 {
                    if previousSpace { return nil }
                    previousSpace = true
                } else {
                    guard HeaderEncoding.isAtext(byte) else { return nil }
                    previousSpace = false
                }
            }
            if previousSpace { return nil }  // a trailing space
        }
        let length = field.utf8.count + 2 + (nameBytes.isEmpty ? 0 : nameBytes.count + 3) + checked.address.utf8.count
        guard length <= HeaderEncoding.lineLimit else { return nil }
        var line = ""
        line.reserveCapacity(length + 2)
        line += field
        line += ": "
        if nameBytes.isEmpty {
            line += checked.address
        } else {
            line += name
            line += " <"
            line += checked.address
            line += ">"
        }
        line += "\r\n"
        return line
    }

    static func checkMessageID(_ id: String, field: String) throws(MailError) {
        guard id.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 && $0 != "<" && $0 != ">" }), id.containsBytes("@") else {
            throw MailError(.invalidHeader, "\(field): '\(id.prefix(80))' is not a valid id (id-left@id-right, printable ASCII)", context: ["header": field])
        }
    }

    static func checkContentType(_ type: String) throws(MailError) {
        let parts = type.split(separator: "/")
        guard parts.count == 2, type.unicodeScalars.allSatisfy({ HeaderEncoding.isAtext($0) || $0 == "." }) else {
            throw MailError(.invalidHeader, "Content-Type: '\(type.prefix(80))' is not type/subtype", context: ["header": "Content-Type"])
        }
    }

    private static let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// RFC 5322 §3.3 date-time in UTC, e.g. `Fri, 27 Nov 2026 03:43:05 +0000`.
    static func formatDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = Int(seconds - days * 86_400)
        // Civil from days (H. Hinnant's algorithm): by arithmetic, as every message of a mass
        // email has a Date and a Calendar is costly to ask.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday
        return "\(weekdayNames[weekday]), \(day) \(monthNames[Int(month) - 1]) \(year) "
            + "\(String(time / 3600).leftPadded(2)):\(String(time / 60 % 60).leftPadded(2)):\(String(time % 60).leftPadded(2)) +0000"
    }
}

/// Boundaries contain "=_", which quoted-printable and base64 output can never contain
/// (QP writes "=" as "=3D"), so no part can collide with them (RFC 2046 §5.1.1).
struct BoundaryMaker {
    private let stem: String
    private var count = 0

    init(seed: String?) {
        stem = seed ?? String(Self.nextStem(), radix: 36)
    }

    // A stem need not be secret, only unlike the last (the "=_" keeps parts from colliding):
    // SplitMix64 over a counter from a random start, rather than the system's generator, a
    // system call, for every message of a mass email.
    private static let stems = Atomic<UInt64>(UInt64.random(in: 0...UInt64.max))

    private static func nextStem() -> UInt64 {
        var z = stems.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> String {
        count += 1
        return "=_\(stem)_\(count)"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
