/// A saved template of one module: the subject, HTML body and optional text body that a
/// mass email or a test send renders for each recipient. See ``CompiledTemplate`` for the
/// merge-field syntax.
public struct MailTemplate: Sendable, Hashable {
    public var id: Int64
    /// The API name of the module whose fields the template may name.
    public var module: String
    public var name: String
    public var subject: String
    public var html: String
    /// The plain-text part; `nil` means it is made from the HTML.
    public var text: String?
    public var createdBy: Int64?
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(id: Int64, module: String, name: String, subject: String, html: String, text: String?,
                createdBy: Int64?, createdAt: Int64, modifiedAt: Int64) {
        self.id = id
        self.module = module
        self.name = name
        self.subject = subject
        self.html = html
        self.text = text
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    /// Names that the sending engine fills in for each message (beside the record's fields,
    /// the owner and the sender), so that a saved template may use them: pass them as
    /// `extraNames` when compiling, and their values in ``MergeValues/extra``.
    public static let engineNames: Set<String> = [LinkTracking.unsubscribeName]

    /// Whether a text part was written (rather than made from the HTML).
    public var hasOwnText: Bool { text.map { !$0.trimmedWhitespace.isEmpty } ?? false }
}

extension CompiledTemplate {
    /// Compiles a saved template for `module`.
    public init(_ template: MailTemplate, module: Module, lookups: [String: Module] = [:], extraNames: Set<String> = [],
                tracking: Bool = false) throws {
        try self.init(subject: template.subject, html: template.html, text: template.hasOwnText ? template.text : nil,
                      module: module, lookups: lookups, extraNames: extraNames, tracking: tracking)
    }
}
