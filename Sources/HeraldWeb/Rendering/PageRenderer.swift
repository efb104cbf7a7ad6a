import Foundation
import HeraldCore
import HeraldStore
import Mustache

/// Renders Herald's pages from the Mustache templates in `Resources/templates`, each inside
/// the common layout (navigation by module, the user's menu, flash messages).
struct PageRenderer: Sendable {
    let library: MustacheLibrary

    static func load() async throws -> PageRenderer {
        guard let url = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw HeraldError(.notFound, "Herald's page templates are missing from the build")
        }
        return PageRenderer(library: try await MustacheLibrary(directory: url.appendingPathComponent("templates").path))
    }

    /// Renders `template` with `data` inside the layout. `modules` fills the navigation.
    func render(_ template: String, title: String, context: AppRequestContext, data: [String: Any],
                modules: [Module] = [], current: String? = nil, flash: String? = nil, refresh: Int? = nil) -> String {
        let content = library.render(PageRenderer.dropNils(data), withTemplate: template) ?? "template \(template) is missing"
        var layout: [String: Any] = [
            "title": title,
            "content": content,
            "csrf": context.csrf,
            "flash": flash as Any,
            "refresh": refresh as Any,
            "mass_email_current": current == "mass-emails",
            "tasks_current": current == "tasks",
            "calls_current": current == "calls",
            "nav": modules.map { ["api_name": $0.apiName, "label": $0.pluralLabel, "current": $0.apiName == current] },
        ]
        if let user = context.identity {
            layout["user"] = ["name": user.name, "email": user.email, "is_admin": user.isAdmin]
        }
        return library.render(PageRenderer.dropNils(layout), withTemplate: "layout") ?? content
    }

    /// Removes empty optionals (and unwraps full ones) so that Mustache sees a missing key,
    /// which is falsy, instead of `Optional.none`, which it would print as "nil".
    static func dropNils(_ value: Any) -> Any {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return NSNull() }
            return dropNils(wrapped)
        }
        if let dict = value as? [String: Any] {
            var out: [String: Any] = [:]
            for (k, v) in dict {
                let m = Mirror(reflecting: v)
                if m.displayStyle == .optional && m.children.isEmpty { continue }
                out[k] = dropNils(v)
            }
            return out
        }
        if let array = value as? [Any] { return array.map(dropNils) }
        return value
    }
}
