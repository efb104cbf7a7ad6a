import HeraldCore
import HeraldStore

/// Saving mail templates, for the editor and the API alike: what a template must be (a
/// name, a subject and a body whose merge fields the module has; the store checks it, every
/// problem at once), who may change or delete one (its owner or an admin, as the user's
/// scope says), and that a template a mass email uses stays. Previews, spam checks and test
/// sends are ``MailTesting``'s.
public struct TemplateActions: Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    /// A template's content as the editor and the API send it.
    public struct Content: Sendable, Hashable {
        public var name: String
        public var subject: String
        public var html: String
        /// Nil or blank: the text part is made from the HTML.
        public var text: String?

        public init(name: String, subject: String, html: String, text: String?) {
            self.name = name
            self.subject = subject
            self.html = html
            self.text = text
        }
    }

    public func list(in module: Module) async throws -> [MailTemplate] {
        try await store.templates.all(in: module)
    }

    /// The template `id`; with `module`, only if it is that module's (404 otherwise, as for
    /// a template that does not exist).
    public func find(_ id: Int64, in module: Module? = nil) async throws -> MailTemplate {
        let template = try await store.templates.find(id)
        if let module, template.module != module.apiName {
            throw HeraldError.notFound("no template \(id) in \(module.pluralLabel)")
        }
        return template
    }

    public func create(in module: Module, _ content: Content, by user: User) async throws -> MailTemplate {
        try await store.templates.create(in: module, name: content.name, subject: content.subject, html: content.html,
                                         text: content.text, by: user.id)
    }

    public func update(_ id: Int64, _ content: Content, by user: User) async throws -> MailTemplate {
        try await store.templates.update(id, name: content.name, subject: content.subject, html: content.html, text: content.text,
                                         scope: user.scope)
    }

    /// Deletes a template no mass email uses (409 otherwise).
    public func delete(_ id: Int64, by user: User) async throws {
        try await store.templates.delete(id, scope: user.scope)
    }
}
