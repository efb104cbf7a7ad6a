/// A template rendered for one recipient: what goes into the message.
public struct RenderedMail: Sendable, Hashable {
    public var subject: String
    public var html: String
    /// The plain-text part: the template's own, or one made from the HTML.
    public var text: String

    public init(subject: String, html: String, text: String) {
        self.subject = subject
        self.html = html
        self.text = text
    }
}
