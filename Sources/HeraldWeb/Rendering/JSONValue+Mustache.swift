import HeraldCore
import Mustache

/// A resource as the API shows it, shown in a page as it is (the mail settings, a test
/// result): one shape for both. Objects are read by key, arrays are sections, `null` is
/// missing, and a number prints as the API writes it (`25`, not `25.0`).
extension JSONValue: MustacheCustomRepresentation {
    public var representation: Any? {
        switch self {
        case .object(let members): members
        case .array(let items): items
        case .string(let text): text
        case .number(let d): FieldValue.format(number: d)
        case .bool(let b): b
        case .null: nil
        }
    }
}
