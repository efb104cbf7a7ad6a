import HeraldCore

/// Checks a JSON answer against an OpenAPI 3.0 schema: the subset Herald's document uses
/// (`$ref`, `type`, `nullable`, `enum`, `properties`, `required`, `additionalProperties`,
/// `items`, `oneOf`, `anyOf`, `allOf`, `minimum`, `maximum`). Returns every problem, each
/// with its path, so that a presenter that drifted from the document says where.
struct OpenAPISchemaCheck {
    let schemas: [String: JSONValue]

    init(document: JSONValue) {
        schemas = document.objectValue?["components"]?.objectValue?["schemas"]?.objectValue ?? [:]
    }

    func problems(_ value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        guard var s = schema.objectValue else { return [] }
        if let ref = s["$ref"]?.stringValue {
            guard let target = schemas[String(ref.split(separator: "/").last ?? "")] else { return ["\(path): unknown \(ref)"] }
            return problems(value, against: target, at: path)
        }
        if value == .null {
            let typed = s["type"] != nil || s["allOf"] != nil || s["oneOf"] != nil || s["anyOf"] != nil
            return s["nullable"] == .bool(true) || !typed ? [] : ["\(path): null, not nullable"]
        }
        if let all = s["allOf"]?.arrayValue { return all.flatMap { problems(value, against: $0, at: path) } }
        for key in ["oneOf", "anyOf"] {
            if let options = s[key]?.arrayValue {
                return options.contains(where: { problems(value, against: $0, at: path).isEmpty }) ? [] : ["\(path): matches no \(key) branch"]
            }
        }
        if let choices = s["enum"]?.arrayValue, !choices.contains(value) {
            return ["\(path): \(value.stringValue.map { "'\($0)'" } ?? value.typeName) is not one of the documented values"]
        }
        s.removeValue(forKey: "enum")
        switch (s["type"]?.stringValue, value) {
        case (nil, _): return []
        case ("string", .string), ("boolean", .bool): return []
        case ("number", .number(let d)), ("integer", .number(let d)):
            if s["type"] == "integer", d.rounded() != d { return ["\(path): \(d) is not a whole number"] }
            if case .number(let low)? = s["minimum"], d < low { return ["\(path): \(d) is below \(low)"] }
            if case .number(let high)? = s["maximum"], d > high { return ["\(path): \(d) is above \(high)"] }
            return []
        case ("array", .array(let items)):
            guard let item = s["items"] else { return [] }
            return items.enumerated().flatMap { problems($0.element, against: item, at: "\(path)[\($0.offset)]") }
        case ("object", .object(let object)):
            var found: [String] = []
            let properties = s["properties"]?.objectValue ?? [:]
            for key in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object[key] == nil {
                found.append("\(path).\(key): missing, but required")
            }
            for (key, item) in object.sorted(by: { $0.key < $1.key }) {
                if let property = properties[key] {
                    found += problems(item, against: property, at: "\(path).\(key)")
                } else if s["additionalProperties"] == .bool(false) {
                    found.append("\(path).\(key): not in the document")
                } else if let extra = s["additionalProperties"], extra.objectValue != nil {
                    found += problems(item, against: extra, at: "\(path).\(key)")
                }
            }
            return found
        case (let type?, _):
            return ["\(path): \(value.typeName), not \(type)"]
        }
    }
}
