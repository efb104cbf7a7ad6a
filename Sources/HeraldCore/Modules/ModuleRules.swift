import Foundation

/// The rules a new module or field must meet before storage creates it.
public enum ModuleRules {
    public static let maxLabelLength = 100
    public static let maxPicklistValues = 500
    public static let maxFieldsPerModule = 200
    /// Names that would collide with the columns or words Herald uses itself.
    public static let reservedFieldNames: Set<String> = ["id", "select", "from", "where", "order", "group", "table"]

    /// Checks a label: present, one line, not too long.
    public static func labelProblem(_ label: String) -> String? {
        let trimmed = label.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return "is required" }
        if trimmed.count > maxLabelLength { return "must be at most \(maxLabelLength) characters" }
        if trimmed.contains(where: \.isNewline) { return "must be a single line" }
        return nil
    }

    /// Checks a new field for `module`, given every module (for lookups). `path` prefixes problem names.
    public static func problems(newField field: Field, in module: Module, modules: [Module], path: String = "") -> [Problem] {
        var problems = ProblemList()
        let p = { (name: String) in path.isEmpty ? name : "\(path).\(name)" }
        if let reason = labelProblem(field.label) { problems.add(p("label"), reason) }
        if let reason = APIName.problem(with: field.apiName) {
            problems.add(p("api_name"), reason)
        } else if reservedFieldNames.contains(field.apiName) {
            problems.add(p("api_name"), "'\(field.apiName)' is reserved")
        } else if module.field(field.apiName) != nil {
            problems.add(p("api_name"), "module \(module.pluralLabel) already has a field '\(field.apiName)'")
        }
        if module.fields.contains(where: { $0.label.caseInsensitiveCompare(field.label.trimmingCharacters(in: .whitespaces)) == .orderedSame }) {
            problems.add(p("label"), "module \(module.pluralLabel) already has a field labelled '\(field.label)'")
        }
        if module.fields.count >= maxFieldsPerModule {
            problems.add(p("api_name"), "a module has at most \(maxFieldsPerModule) fields")
        }
        problems.add(contentsOf: picklistProblems(field, path: p("picklist_values")))
        if field.type == .lookup {
            if let target = field.lookupModule {
                if !modules.contains(where: { $0.apiName == target }) && target != module.apiName {
                    problems.add(p("lookup_module"), "no module '\(target)'")
                }
            } else {
                problems.add(p("lookup_module"), "a lookup field needs the module it points to")
            }
        } else if field.lookupModule != nil {
            problems.add(p("lookup_module"), "only lookup fields point to a module")
        }
        return problems.problems
    }

    /// Checks a picklist's values: present, unique, short.
    public static func picklistProblems(_ field: Field, path: String) -> [Problem] {
        var problems = ProblemList()
        guard field.type == .picklist else {
            if !field.picklistValues.isEmpty { problems.add(path, "only picklist fields have values") }
            return problems.problems
        }
        if field.picklistValues.isEmpty { problems.add(path, "a picklist needs at least one value") }
        if field.picklistValues.count > maxPicklistValues { problems.add(path, "a picklist has at most \(maxPicklistValues) values") }
        var seen = Set<String>()
        for (i, value) in field.picklistValues.enumerated() {
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { problems.add("\(path)[\(i)]", "must not be empty") }
            if trimmed.count > FieldType.picklist.maxLength! { problems.add("\(path)[\(i)]", "must be at most 100 characters") }
            if !seen.insert(trimmed.lowercased()).inserted { problems.add("\(path)[\(i)]", "'\(trimmed)' is listed twice") }
        }
        return problems.problems
    }

    /// Checks a new module against the existing ones.
    public static func problems(newModule module: Module, modules: [Module]) -> [Problem] {
        var problems = ProblemList()
        if let r = labelProblem(module.singularLabel) { problems.add("singular_label", r) }
        if let r = labelProblem(module.pluralLabel) { problems.add("plural_label", r) }
        if let r = APIName.problem(with: module.apiName) {
            problems.add("api_name", r)
        } else if modules.contains(where: { $0.apiName == module.apiName }) {
            problems.add("api_name", "a module '\(module.apiName)' already exists")
        }
        if modules.contains(where: { $0.pluralLabel.caseInsensitiveCompare(module.pluralLabel) == .orderedSame
            || $0.singularLabel.caseInsensitiveCompare(module.singularLabel) == .orderedSame }) {
            problems.add("plural_label", "a module named '\(module.pluralLabel)' already exists")
        }
        var partial = Module(apiName: module.apiName, singularLabel: module.singularLabel, pluralLabel: module.pluralLabel,
                             fields: module.fields.filter(\.isBuiltin))
        for (i, field) in module.fields.enumerated() where !field.isBuiltin {
            problems.add(contentsOf: Self.problems(newField: field, in: partial, modules: modules + [module], path: "fields[\(i)]"))
            partial.fields.append(field)
        }
        return problems.problems
    }
}
