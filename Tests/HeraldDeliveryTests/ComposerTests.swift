import Foundation
import HeraldCore
import HeraldDelivery
import Mail
import Testing

@Suite struct ComposerTests {
    @Test func composesFromTheSenderWithReplyToAndAStableMessageID() throws {
        let sender = Sender(id: 1, email: "news@example.com", name: "Herald News", replyTo: "team@example.com", createdAt: 0)
        let rendered = RenderedMail(subject: "Grüße, Ada", html: "<p>Hello Ada</p>", text: "Hello Ada")
        let message = try MessageComposer().compose(rendered, from: sender, to: "ada@example.org", recipientName: "Ada Lovelace",
                                                    messageID: "1.0.abc@example.com")
        let text = String(decoding: message.message, as: UTF8.self)
        #expect(message.envelope.returnPath == "news@example.com")
        #expect(message.envelope.recipients == ["ada@example.org"])
        #expect(text.contains("Message-ID: <1.0.abc@example.com>\r\n"))
        #expect(text.contains("Reply-To: team@example.com\r\n"))
        #expect(text.contains("From: Herald News <news@example.com>\r\n"))
        #expect(text.contains("multipart/alternative"))
    }
}
