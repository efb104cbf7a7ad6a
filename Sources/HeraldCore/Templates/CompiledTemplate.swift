/// A template checked against its module and ready to render for many recipients.
///
/// Compile once, then render once per recipient: the text is scanned, checked and parsed
/// only here, never in ``render(_:)``.
///
/// ## Merge fields
///
/// A template names values with Mustache tags; the same syntax works in the subject, the
/// HTML body and the text body.
///
/// | Tag | Renders |
/// |-----|---------|
/// | `{{first_name}}` | the record's field, by its API name |
/// | `{{owner.name}}`, `{{owner.email}}` | the record owner's name and email |
/// | `{{contact.first_name}}` | a field of the record a lookup names (a deal's contact), given `lookups` |
/// | `{{sender.name}}`, `{{sender.email}}`, `{{sender.reply_to}}` | the chosen sender's |
/// | `{{first_name \| "there"}}` | the field, or the text in quotes when the field is empty |
/// | `{{#city}}in {{city}}{{/city}}` | the text between the tags only when `city` has a value (a boolean field: when it is true) |
/// | `{{^city}}near you{{/city}}` | the text only when `city` is empty |
/// | `{{! a note }}` | nothing: a comment |
///
/// Values are HTML-escaped in the HTML body and left as they are in the subject and the
/// text body. A subject renders as one line. Names passed in `extraNames` (the sending
/// engine's `unsubscribe_url`, for example) can be used like fields, and win over a field of
/// the same name.
///
/// In a mass email, `{{unsubscribe_url}}` is the recipient's unsubscribe page (write
/// `<a href="{{unsubscribe_url}}">Unsubscribe</a>` to place it; without it, a line with the
/// link ends the message). Links to `http` and `https` addresses are tracked: see
/// ``LinkTracking`` for which are and how to keep one untracked (`data-herald-notrack`).
///
/// Everything else Mustache offers is refused when the template is saved, each with the part
/// (`subject`, `html`, `text`), the line and the column: unknown names, tags that are not
/// closed, sections that are not closed or closed by the wrong name, partials (`{{> x}}`),
/// transforms (`{{upper(x)}}`), changed delimiters, pragmas, and unescaped output
/// (`{{{x}}}`, `{{& x}}`) in the HTML body.
///
/// ```swift
/// let compiled = try CompiledTemplate(
///     subject: "Hello {{first_name | \"there\"}}",
///     html: "<p>Hi {{first_name}}{{#city}} in {{city}}{{/city}}</p>",
///     text: nil, module: contacts)
/// let mail = compiled.render(MergeValues(record: record, sender: sender))
/// ```
///
/// Without a text body, the text is made from the HTML once, here, with
/// ``HTMLText/plainText(fromHTML:wrapping:)``: the merge tags survive the conversion and are
/// rendered unescaped like any text body; its long lines are wrapped after rendering.
public struct CompiledTemplate: Sendable {
    /// The template's parts, named as in error reports.
    public enum Part: String, Sendable, CaseIterable {
        case subject, html, text
    }

    /// The record fields the template uses, so that a sender loads only those; `owner` is
    /// among them when the owner's name or email is used.
    public let fieldNames: Set<String>
    /// Whether `owner.name` or `owner.email` appears, so the owner must be looked up.
    public let usesOwner: Bool
    /// Per lookup field used as `lookup.field`, the fields of the record it names that the
    /// template reads (the lookup itself is among ``fieldNames``): what a sender loads.
    public let lookupFields: [String: Set<String>]
    /// The extra names (from `extraNames`) that the template uses.
    public let usedExtraNames: Set<String>
    /// With tracking, the tracked links' addresses by index (see ``LinkTracking``).
    public let trackedLinks: [String]

    private let subject: MergeProgram
    private let html: MergeProgram
    private let text: MergeProgram
    private let slots: [Slot]
    /// A text made from the HTML is wrapped once its values are in (a written one is left as is).
    private let wrapsText: Bool

    /// Checks and compiles a template.
    ///
    /// - Parameters:
    ///   - text: the text body, or nil (or blank) to make it from the HTML.
    ///   - tracking: rewrite the HTML with ``LinkTracking`` and end the text with an
    ///     unsubscribe line when it has none; the values of ``LinkTracking/names`` are then
    ///     expected in ``MergeValues/extra``.
    /// - Throws: ``HeraldError`` `.invalid` with one ``Problem`` per mistake; its field is the
    ///   part and its reason starts with "line L, column C:".
    ///   - lookups: the modules the template may reach through lookup fields, by the lookup's
    ///     API name (``lookups(of:among:)``); their records' values come in ``MergeValues/fields``
    ///     as `lookup.field`.
    public init(subject: String, html: String, text: String?, module: Module, lookups: [String: Module] = [:],
                extraNames: Set<String> = [], tracking: Bool = false) throws {
        let tracked = tracking ? LinkTracking(html: html) : nil
        func finishText(_ text: String) -> String { tracking ? LinkTracking.text(text) : text }
        var builder = Builder(module: module, lookups: lookups, extraNames: extraNames.union(tracked?.names ?? []))
        var problems = ProblemList()
        let subjectText = builder.compile(subject, part: .subject, problems: &problems)
        let htmlText = builder.compile(tracked?.html ?? html, part: .html, problems: &problems)
        var textText: String?
        if let text, !text.trimmedWhitespace.isEmpty {
            textText = builder.compile(finishText(text), part: .text, problems: &problems)
        } else if problems.problems.allSatisfy({ $0.field != Part.html.rawValue }) {
            // Made from the HTML as written (its links show their real addresses), so a
            // mistake here is one in the HTML: report it there.
            var derived = ProblemList()
            textText = builder.compile(finishText(Self.wrappingStaticLines(HTMLText.plainText(fromHTML: html, wrapping: false))),
                                       part: .text, problems: &derived)
            for p in derived.problems { problems.add(Part.html.rawValue, "in the text made from the HTML, \(p.reason)") }
        }
        try problems.check()
        guard let subjectProgram = MergeProgram(subjectText ?? "", escapes: false),
              let htmlProgram = MergeProgram(htmlText ?? "", escapes: true),
              let textProgram = MergeProgram(textText ?? "", escapes: false) else {
            // The builder writes only what the program reads; reaching this is a bug in one of them.
            throw HeraldError.invalid(field: "", "the template could not be compiled")
        }
        self.subject = subjectProgram
        self.html = htmlProgram
        self.text = textProgram
        self.slots = builder.slots
        self.wrapsText = text.map { $0.trimmedWhitespace.isEmpty } ?? true
        self.fieldNames = builder.fieldNames
        self.usesOwner = builder.usesOwner
        self.lookupFields = builder.lookupFields
        self.usedExtraNames = builder.usedExtraNames
        self.trackedLinks = tracked?.links ?? []
    }

    /// Wraps, once, the lines that no merge tag can change, so that the wrapping after each
    /// rendering finds only the lines with values in them long.
    static func wrappingStaticLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.contains("{{") ? String($0) : HTMLText.wrap(String($0)) }
            .joined(separator: "\n")
    }

    /// The message for one recipient.
    public func render(_ values: MergeValues) -> RenderedMail {
        let context = slots.map { $0.value(in: values) }
        let text = self.text.render(context)
        return RenderedMail(subject: subject(context), html: html.render(context), text: wrapsText ? HTMLText.wrapLines(text) : text)
    }

    /// Only the subject for one recipient (a follow-up's reply subject is the original's).
    public func renderSubject(_ values: MergeValues) -> String {
        subject(slots.map { $0.value(in: values) })
    }

    private func subject(_ context: [MergeProgram.Value]) -> String {
        let subject = self.subject.render(context)
        // A subject is one header line: line breaks from a long-text value become spaces.
        // Asked on bytes first (walking Characters cost every message), as a field's value is.
        return FieldValueParser.hasLineBreak(subject) ? subject.split(whereSeparator: \.isNewline).joined(separator: " ") : subject
    }

    /// Every name a template of `module` may use, for pickers and documentation: the
    /// module's fields, those of the records its lookups name, then the owner's and the sender's.
    public static func mergeFieldNames(of module: Module, lookups: [String: Module] = [:]) -> [String] {
        module.fields.map(\.apiName)
            + lookups.keys.sorted().flatMap { lookup in lookups[lookup]!.fields.map { "\(lookup).\($0.apiName)" } }
            + Source.ownerNames.keys.sorted() + Source.senderNames.keys.sorted()
    }

    /// The modules `module`'s lookup fields name, by the lookup's API name (a deal's
    /// `contact`): a template may use their records' fields as `contact.first_name`.
    public static func lookups(of module: Module, among modules: [Module]) -> [String: Module] {
        var out: [String: Module] = [:]
        for field in module.fields where field.type == .lookup {
            if let target = modules.first(where: { $0.apiName == field.lookupModule }) { out[field.apiName] = target }
        }
        return out
    }
}

/// Where a slot's value comes from.
private enum Source: Hashable, Sendable {
    case field(String, isBoolean: Bool)
    case ownerName, ownerEmail
    case senderName, senderEmail, senderReplyTo
    case extra(String)

    static let ownerNames: [String: Source] = ["owner.name": .ownerName, "owner.email": .ownerEmail]
    static let senderNames: [String: Source] = [
        "sender.name": .senderName, "sender.email": .senderEmail, "sender.reply_to": .senderReplyTo,
    ]

    func text(in values: MergeValues) -> String? {
        switch self {
        case .field(let name, _): values.fields[name]
        case .ownerName: values.owner?.name
        case .ownerEmail: values.owner?.email
        case .senderName: values.sender?.name
        case .senderEmail: values.sender?.email
        case .senderReplyTo: values.sender?.replyTo
        case .extra(let name): values.extra[name]
        }
    }
}

/// One value the rewritten Mustache text asks for, as `{{sN}}` or `{{#sN}}`.
private struct Slot: Hashable, Sendable {
    var source: Source
    var fallback: String?
    /// A section's slot holds a Bool, so that Mustache shows or hides the text without
    /// pushing the value onto its context stack.
    var isCondition: Bool

    func value(in values: MergeValues) -> MergeProgram.Value {
        let text = source.text(in: values).flatMap { $0.isEmpty ? nil : $0 }
        if isCondition {
            if case .field(_, isBoolean: true) = source { return .flag(text == "true") }
            return .flag(text != nil)
        }
        return (text ?? fallback).map(MergeProgram.Value.text) ?? .absent
    }
}

/// Checks each part's tags against the module and rewrites them to slot names.
private struct Builder {
    let module: Module
    let lookups: [String: Module]
    let extraNames: Set<String>
    var slots: [Slot] = []
    var slotIndex: [Slot: Int] = [:]
    var fieldNames: Set<String> = []
    var lookupFields: [String: Set<String>] = [:]
    var usesOwner = false
    var usedExtraNames: Set<String> = []

    init(module: Module, lookups: [String: Module], extraNames: Set<String>) {
        self.module = module
        self.lookups = lookups
        self.extraNames = extraNames
    }

    /// `name` split at its first dot, when what comes before is one of the lookups.
    private func lookupPath(_ name: String) -> (lookup: String, target: Module, field: String)? {
        guard let dot = name.firstIndex(of: "."), let target = lookups[String(name[..<dot])] else { return nil }
        return (String(name[..<dot]), target, String(name[name.index(after: dot)...]))
    }

    /// The part rewritten for Mustache, or nil when it has problems (added to `problems`).
    mutating func compile(_ text: String, part: CompiledTemplate.Part, problems: inout ProblemList) -> String? {
        let (pieces, failures) = MergeTagScanner.scan(text)
        var found = failures.map(\.message)
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var open: [MergeTag] = []
        for piece in pieces {
            switch piece {
            case .text(let t):
                out += t
            case .tag(let tag):
                if tag.kind == .comment { out += tag.source; continue }
                if tag.kind == .close {
                    guard let top = open.popLast() else {
                        found.append("\(tag.position): \(tag.source) closes no section")
                        continue
                    }
                    if top.name != tag.name {
                        found.append("\(tag.position): \(tag.source) closes {{\(top.kind == .section ? "#" : "^")\(top.name)}} opened at \(top.position); close it with {{/\(top.name)}} first")
                        continue
                    }
                    if let index = slot(for: top.name, fallback: nil, condition: true) { out += "{{/s\(index)}}" }
                    continue
                }
                if tag.kind == .unescaped, part == .html {
                    found.append("\(tag.position): \(tag.source) would insert the value without HTML escaping; write {{\(tag.name)}}")
                    continue
                }
                guard let origin = source(of: tag.name) else {
                    found.append("\(tag.position): \(unknownReason(tag.name))")
                    if tag.kind == .section || tag.kind == .invertedSection { open.append(tag) }
                    continue
                }
                use(origin)
                switch tag.kind {
                case .section, .invertedSection:
                    open.append(tag)
                    let index = slot(for: origin, fallback: nil, condition: true)
                    out += "{{\(tag.kind == .section ? "#" : "^")s\(index)}}"
                default:
                    out += "{{s\(slot(for: origin, fallback: tag.fallback, condition: false))}}"
                }
            }
        }
        if failures.isEmpty {
            for tag in open.reversed() {
                found.append("\(tag.position): the section \(tag.source) is never closed; end it with {{/\(tag.name)}}")
            }
        }
        for reason in found { problems.add(part.rawValue, reason) }
        return found.isEmpty ? out : nil
    }

    private func source(of name: String) -> Source? {
        if extraNames.contains(name) { return .extra(name) }
        if let s = Source.ownerNames[name] ?? Source.senderNames[name] { return s }
        if let field = module.field(name) { return .field(field.apiName, isBoolean: field.type == .boolean) }
        if let path = lookupPath(name), let field = path.target.field(path.field) {
            return .field("\(path.lookup).\(field.apiName)", isBoolean: field.type == .boolean)
        }
        return nil
    }

    private func unknownReason(_ name: String) -> String {
        if name.hasPrefix("owner.") { return "unknown merge field '\(name)'; the owner has owner.name and owner.email" }
        if name.hasPrefix("sender.") {
            return "unknown merge field '\(name)'; the sender has sender.name, sender.email and sender.reply_to"
        }
        if let path = lookupPath(name) {
            return "unknown merge field '\(name)': \(path.target.pluralLabel) has no field '\(path.field)'"
        }
        return "unknown merge field '\(name)': \(module.pluralLabel) has no field with that API name"
    }

    private mutating func use(_ source: Source) {
        switch source {
        case .field(let name, _):
            if let path = lookupPath(name) {
                fieldNames.insert(path.lookup)
                lookupFields[path.lookup, default: []].insert(path.field)
            } else {
                fieldNames.insert(name)
            }
        case .ownerName, .ownerEmail:
            usesOwner = true
            fieldNames.insert(BuiltinFields.owner)
        case .extra(let name): usedExtraNames.insert(name)
        case .senderName, .senderEmail, .senderReplyTo: break
        }
    }

    private mutating func slot(for name: String, fallback: String?, condition: Bool) -> Int? {
        source(of: name).map { slot(for: $0, fallback: fallback, condition: condition) }
    }

    private mutating func slot(for source: Source, fallback: String?, condition: Bool) -> Int {
        let wanted = Slot(source: source, fallback: fallback, isCondition: condition)
        if let index = slotIndex[wanted] { return index }
        slots.append(wanted)
        slotIndex[wanted] = slots.count - 1
        return slots.count - 1
    }
}
