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

    /// Renders `template` with `page`, its model, inside the layout. `modules` fills the navigation.
    /// The message a redirect left (``AppRequestContext/redirect(to:flash:)``) is shown and
    /// taken, unless `takingFlash` is false (an error page: the session is not saved after a
    /// thrown error, so the message would show there and again on the next page).
    func render(_ template: String, title: String, context: AppRequestContext, page: some PageModel,
                modules: [Module] = [], current: String? = nil, refresh: Int? = nil, takingFlash: Bool = true) -> String {
        let content = library.render(Scope(page: page, csrf: context.csrf), withTemplate: template) ?? "template \(template) is missing"
        let layout = Layout(
            title: title, content: content, csrf: context.csrf, flash: takingFlash ? context.takeFlash() : nil, refresh: refresh,
            massEmailCurrent: current == "mass-emails", tasksCurrent: current == "tasks", callsCurrent: current == "calls",
            nav: modules.map { Layout.NavItem(apiName: $0.apiName, label: $0.pluralLabel, current: $0.apiName == current) },
            user: context.identity.map { Layout.UserMenu(name: $0.name, email: $0.email, isAdmin: $0.isAdmin) })
        return library.render(layout, withTemplate: "layout") ?? content
    }

    /// A page's model with what every page may name besides its own: the CSRF token the
    /// `csrf_field` partial writes into each form.
    private struct Scope<Page: PageModel>: MustacheParent {
        let page: Page
        let csrf: String

        func child(named key: String) -> Any? {
            page.child(named: key) ?? (key == "csrf" ? csrf : nil)
        }
    }

    /// The frame around every page: navigation by module, the user's menu, the flash message.
    struct Layout: PageModel {
        struct NavItem: PageModel {
            let apiName: String
            let label: String
            let current: Bool
        }

        struct UserMenu: PageModel {
            let name: String
            let email: String
            let isAdmin: Bool
        }

        let title: String
        let content: String
        let csrf: String
        let flash: String?
        let refresh: Int?
        let massEmailCurrent: Bool
        let tasksCurrent: Bool
        let callsCurrent: Bool
        let nav: [NavItem]
        let user: UserMenu?
    }
}
