import Foundation
import Mustache

/// A page's model, or a part of one: a Swift value whose properties the page's Mustache
/// template names.
///
/// Templates keep the snake_case keys they have always had (`{{has_errors}}`,
/// `{{mass_email_link}}`), so that the HTML does not move; the Swift side keeps Swift's names
/// (`hasErrors`, `massEmailID`). This conformance is the one place the two meet: a key names
/// the property with the same letters, case and underscores aside, read by reflection. A
/// present optional reads as its value, never as `Optional(…)`; one that is `nil` reads as
/// null: its section is not shown, it prints nothing, and, unlike a key that is not there at
/// all, Mustache does not go on to look for the name in the sections around it (a
/// follow-up's missing reason must not show its mass email's).
///
/// A model made of others (a row with its figures) answers with its own properties first,
/// then theirs: `reflectedChild(named:) ?? figures.child(named:)`.
///
/// ```swift
/// struct TokenRow: PageModel { let name: String; let lastUsed: String }
/// // {{#tokens}}{{name}}, {{last_used}}{{/tokens}}
/// ```
protocol PageModel: MustacheParent {}

extension PageModel {
    func child(named key: String) -> Any? { reflectedChild(named: key) }

    /// The property `key` names, nil if there is none, `NSNull` if it is an empty optional.
    /// `any_x` is whether the list `x` has anything in it, for the part around a list's items
    /// (Mustache cannot ask `x.0` of a Swift array: such a section never opened).
    func reflectedChild(named key: String) -> Any? {
        for child in Mirror(reflecting: self).children where child.label.map({ PageModelKey.names(key, $0) }) == true {
            return PageModelKey.unwrapped(child.value) ?? NSNull()
        }
        if key.hasPrefix("any_"), let list = reflectedChild(named: String(key.dropFirst(4))) as? any Collection {
            return !list.isEmpty
        }
        return nil
    }
}

/// The rules `PageModel` reads a template's key by, apart so that they are tested alone.
enum PageModelKey {
    /// Whether the template key `key` names the property `label`: the same letters, case and
    /// underscores aside, so that `has_errors` is `hasErrors` and `mass_email_id` is
    /// `massEmailID`, however Swift cases an acronym.
    static func names(_ key: String, _ label: String) -> Bool {
        var k = key.utf8.makeIterator(), l = label.utf8.makeIterator()
        while true {
            var a = k.next()
            while a == UInt8(ascii: "_") { a = k.next() }
            let b = l.next()
            guard let x = a, let y = b else { return a == nil && b == nil }
            if x | 0x20 != y | 0x20 { return false }
        }
    }

    /// The value an optional holds, or nil for an empty one, however deeply nested.
    static func unwrapped(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        guard let wrapped = mirror.children.first?.value else { return nil }
        return unwrapped(wrapped)
    }
}
