import HeraldCore

/// A module as the pages name it: in links (`api_name`), in headings (`label`, the plural,
/// also as `plural`), in sentences (`singular`, `singular_lower`), and whether its records are
/// people with an address (`has_email`).
struct ModuleLabels: PageModel {
    let apiName: String
    let label: String
    let plural: String
    let singular: String
    let singularLower: String
    let hasEmail: Bool

    init(_ module: Module) {
        apiName = module.apiName
        (label, plural) = (module.pluralLabel, module.pluralLabel)
        singular = module.singularLabel
        singularLower = module.singularLabel.lowercased()
        hasEmail = module.emailField != nil
    }
}
