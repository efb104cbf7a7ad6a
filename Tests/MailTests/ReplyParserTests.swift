import NIOCore
import Testing
@testable import Mail

@Suite struct ReplyParserTests {
    func parse(_ text: String, maximumLineLength: Int = 4096) throws -> [SMTPReply] {
        var parser = SMTPReplyParser(maximumLineLength: maximumLineLength)
        parser.append(Array(text.utf8))
        var replies: [SMTPReply] = []
        while let reply = try parser.next() { replies.append(reply) }
        return replies
    }

    @Test func singleLine() throws {
        let replies = try parse("250 OK\r\n")
        #expect(replies == [SMTPReply(code: 250, lines: ["OK"])])
    }

    @Test func bareCodeIsACompleteReply() throws {
        #expect(try parse("250\r\n") == [SMTPReply(code: 250, lines: [""])])
    }

    @Test func multiLineReply() throws {
        let replies = try parse("250-mail.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n")
        #expect(replies.count == 1)
        #expect(replies[0].lines == ["mail.example.com Hello", "PIPELINING", "SIZE 10240000", "8BITMIME"])
    }

    @Test func multiLineEndingInBareCode() throws {
        let replies = try parse("250-first\r\n250\r\n")
        #expect(replies == [SMTPReply(code: 250, lines: ["first", ""])])
    }

    @Test func enhancedStatusCode() throws {
        let reply = try #require(try parse("550 5.1.1 <nobody@example.org>: Recipient address rejected\r\n").first)
        #expect(reply.code == 550)
        #expect(reply.enhancedCode == EnhancedStatusCode(statusClass: 5, subject: 1, detail: 1))
        #expect(reply.text == "<nobody@example.org>: Recipient address rejected")
        #expect(reply.isPermanentFailure)
    }

    @Test func enhancedCodeOfAnotherClassIsText() throws {
        let reply = try #require(try parse("250 5.1.1 odd\r\n").first)
        #expect(reply.enhancedCode == nil)
        #expect(reply.text == "5.1.1 odd")
    }

    @Test func bytesArriveInPieces() throws {
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        for byte in "220-hi\r\n220 there\r\n354 go\n".utf8 {
            parser.append([byte])
            while let reply = try parser.next() { replies.append(reply) }
        }
        #expect(replies.map(\.code) == [220, 354])
        #expect(replies[0].lines == ["hi", "there"])
    }

    @Test func garbageIsAProtocolViolation() {
        #expect(throws: MailError.self) { try parse("HTTP/1.1 400 Bad Request\r\n") }
        #expect(throws: MailError.self) { try parse("25\r\n") }
        #expect(throws: MailError.self) { try parse("250x\r\n") }
        #expect(throws: MailError.self) { try parse("650 no such class\r\n") }
        #expect(throws: MailError.self) { try parse("\r\n") }
    }

    @Test func codeMustNotChangeInsideAReply() {
        #expect(throws: MailError.self) { try parse("250-a\r\n251 b\r\n") }
    }

    @Test func overLongLineIsRefusedBeforeItEnds() {
        var parser = SMTPReplyParser(maximumLineLength: 100)
        parser.append(Array(("250 " + String(repeating: "x", count: 200)).utf8))
        #expect(throws: MailError.self) { try parser.next() }
        #expect(throws: MailError.self) { try parse("250 " + String(repeating: "x", count: 200) + "\r\n", maximumLineLength: 100) }
    }

    @Test func tooManyLines() {
        var parser = SMTPReplyParser(maximumLinesPerReply: 3)
        parser.append(Array(String(repeating: "250-x\r\n", count: 10).utf8))
        #expect(throws: MailError.self) { try parser.next() }
    }

    @Test func discardDropsEverythingBuffered() throws {
        var parser = SMTPReplyParser()
        parser.append(Array("220 go ahead\r\n250-injected\r\n250 evil\r\n".utf8))
        #expect(try parser.next()?.code == 220)
        parser.discardBufferedBytes()
        #expect(try parser.next() == nil)
        #expect(!parser.hasBufferedBytes)
    }

    @Test func capabilities() throws {
        let reply = try #require(try parse("250-mx.example Hi\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-AUTH PLAIN login XOAUTH2\r\n250-AUTH=CRAM-MD5\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n").first)
        let capabilities = SMTPCapabilities(ehloReply: reply)
        #expect(capabilities.pipelining)
        #expect(capabilities.startTLS)
        #expect(capabilities.maximumSize == 1000)
        #expect(capabilities.eightBitMIME)
        #expect(capabilities.smtpUTF8)
        #expect(capabilities.enhancedStatusCodes)
        #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN", "XOAUTH2", "CRAM-MD5"])
    }

    @Test func enhancedCodeParsing() {
        #expect(EnhancedStatusCode("4.7.1") == EnhancedStatusCode(statusClass: 4, subject: 7, detail: 1))
        #expect(EnhancedStatusCode("5.123.999") != nil)
        #expect(EnhancedStatusCode("3.1.1") == nil)
        #expect(EnhancedStatusCode("5.1") == nil)
        #expect(EnhancedStatusCode("5.1.1234") == nil)
        #expect(EnhancedStatusCode("5..1") == nil)
    }
}

@Suite struct MessageBodyTests {
    func prepared(_ text: String) -> String {
        let body = MessageBody(message: Array(text.utf8))
        return String(buffer: body.bytes)
    }

    @Test func crlfNormalisation() {
        #expect(prepared("a\nb\r\nc\rd") == "a\r\nb\r\nc\r\nd\r\n.\r\n")
        #expect(prepared("a\r\r\nb") == "a\r\n\r\nb\r\n.\r\n")
        #expect(prepared("end\r\n") == "end\r\n.\r\n")
        #expect(prepared("") == ".\r\n")
    }

    @Test func dotStuffing() {
        #expect(prepared(".\r\n..x\n.y\r\nno.dot\r.z") == "..\r\n...x\r\n..y\r\nno.dot\r\n..z\r\n.\r\n")
        #expect(prepared(".") == "..\r\n.\r\n")
    }

    @Test func eightBitAndSize() {
        let ascii = MessageBody(message: Array("a\nb".utf8))
        #expect(!ascii.hasEightBitData)
        #expect(ascii.messageSize == 6)
        #expect(MessageBody(message: Array("é".utf8)).hasEightBitData)
    }

    @Test func commandsNeverShowSecrets() {
        let auth = SMTPCommand.auth(mechanism: "PLAIN", initialResponse: "AHVzZXIAc2VjcmV0")
        #expect(!auth.description.contains("AHVzZXIAc2VjcmV0"))
        #expect(!SMTPCommand.authResponse("c2VjcmV0").description.contains("c2VjcmV0"))
        var buffer = ByteBuffer()
        SMTPCommand.mailFrom("bounce+x@example.com", parameters: ["SIZE=10", "BODY=8BITMIME"]).write(into: &buffer)
        #expect(String(buffer: buffer) == "MAIL FROM:<bounce+x@example.com> SIZE=10 BODY=8BITMIME\r\n")
    }

    @Test func base64RoundTrip() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("\u{0}user\u{0}pass".utf8)) == "AHVzZXIAcGFzcw==")
        let wrapped = String(decoding: Base64.encodeBytes([UInt8](repeating: 7, count: 200), lineLength: 76), as: UTF8.self)
        #expect(wrapped.split(separator: "\r\n").allSatisfy { $0.count <= 76 })
    }
}
