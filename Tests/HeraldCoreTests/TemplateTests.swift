@testable import HeraldCore
import Testing

@Suite struct TemplateTests {
    let contacts = BuiltinModules.contacts
    let sender = Sender(id: 1, email: "news@example.com", name: "Example News", replyTo: "help@example.com", createdAt: 0)

    func compile(subject: String = "Hi", html: String = "<p>Hi</p>", text: String? = nil,
                 extra: Set<String> = []) throws -> CompiledTemplate {
        try CompiledTemplate(subject: subject, html: html, text: text, module: contacts, extraNames: extra)
    }

    /// The problems of a template that must not compile, as "part: reason".
    func problems(subject: String = "Hi", html: String = "<p>Hi</p>", text: String? = nil) -> [String] {
        do {
            _ = try compile(subject: subject, html: html, text: text)
            return []
        } catch let error as HeraldError {
            #expect(error.kind == .invalid)
            return error.problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func unknownFieldNamesThePartLineAndColumn() {
        let found = problems(html: "<p>Hello\n  {{frist_name}}</p>")
        #expect(found == ["html: line 2, column 3: unknown merge field 'frist_name': Contacts has no field with that API name"])
        #expect(problems(subject: "A {{owner.phone}}").first?.hasPrefix("subject: line 1, column 3: unknown merge field 'owner.phone'") == true)
        #expect(problems(text: "x\ny\n{{sender.fax}}").first?.hasPrefix("text: line 3, column 1:") == true)
        // Every mistake is reported, in every part.
        #expect(problems(subject: "{{a}}", html: "{{b}} {{c}}").count == 3)
    }

    @Test func syntaxErrorsSayWhere() {
        #expect(problems(html: "<p>{{first_name</p>") == ["html: line 1, column 4: the tag '{{first_name</p>' is not closed with }}"])
        #expect(problems(html: "{{first name}}").first?.hasPrefix("html: line 1, column 1: 'first name' in {{first name}} is not a merge field name") == true)
        #expect(problems(html: "ok {{}}") == ["html: line 1, column 4: the tag {{}} names no merge field"])
        #expect(problems(html: "{{first_name | there}}").first?.contains("must be text in double quotes") == true)
        #expect(problems(html: "{{=<% %>=}}").first?.contains("changing the delimiters") == true)
    }

    @Test func sectionsMustBeClosedByTheirName() {
        #expect(problems(html: "a\n{{#mailing_city}}in town") ==
                ["html: line 2, column 1: the section {{#mailing_city}} is never closed; end it with {{/mailing_city}}"])
        #expect(problems(html: "{{#title}}{{^mailing_city}}x{{/title}}{{/mailing_city}}").first ==
                "html: line 1, column 29: {{/title}} closes {{^mailing_city}} opened at line 1, column 11; close it with {{/mailing_city}} first")
        #expect(problems(subject: "x {{/title}}") == ["subject: line 1, column 3: {{/title}} closes no section"])
    }

    @Test func refusedMustacheFeatures() {
        #expect(problems(html: "{{> footer}}") == ["html: line 1, column 1: partials ({{> footer}}) are not supported in templates"])
        #expect(problems(html: "<b>{{{first_name}}}</b>") ==
                ["html: line 1, column 4: {{{first_name}}} would insert the value without HTML escaping; write {{first_name}}"])
        #expect(problems(html: "{{& first_name}}").first?.contains("without HTML escaping") == true)
        #expect(problems(html: "{{uppercased(first_name)}}") ==
                ["html: line 1, column 1: transforms ({{uppercased(first_name)}}) are not supported in templates"])
        // Unescaped tags are harmless where nothing is escaped.
        #expect(problems(subject: "{{{first_name}}}", text: "{{& first_name}}").isEmpty)
    }

    @Test func fallbackWhenEmpty() throws {
        let t = try compile(subject: "Hello {{first_name | \"there\"}}", html: "<p>Hi {{first_name | \"you & yours\"}}</p>")
        let empty = t.render(MergeValues(fields: [:]))
        #expect(empty.subject == "Hello there")
        #expect(empty.html == "<p>Hi you &amp; yours</p>")
        let named = t.render(MergeValues(fields: ["first_name": "Ada"]))
        #expect(named.subject == "Hello Ada")
        #expect(named.html == "<p>Hi Ada</p>")
        // A fallback may hold braces and quotes.
        let odd = try compile(subject: "{{first_name | \"{{x}} \\\"y\\\"\"}}")
        #expect(odd.render(MergeValues()).subject == "{{x}} \"y\"")
    }

    @Test func escapingInHTMLOnly() throws {
        let t = try compile(subject: "{{last_name}}", html: "<p>{{last_name}}</p>", text: "{{last_name}}")
        let mail = t.render(MergeValues(fields: ["last_name": "<Smith & \"Sons\">"]))
        #expect(mail.html == "<p>&lt;Smith &amp; &quot;Sons&quot;&gt;</p>")
        #expect(mail.subject == "<Smith & \"Sons\">")
        #expect(mail.text == "<Smith & \"Sons\">")
        let multiline = t.render(MergeValues(fields: ["last_name": "a\nb"]))
        #expect(multiline.subject == "a b", "a subject is one line")
    }

    @Test func ownerSenderAndExtraNames() throws {
        let t = try compile(subject: "From {{sender.name}}",
                            html: "{{owner.name}} <{{owner.email}}> {{sender.email}} {{sender.reply_to}} {{unsubscribe_url}}",
                            extra: ["unsubscribe_url"])
        #expect(t.fieldNames == ["owner"])
        #expect(t.usesOwner && t.usedExtraNames == ["unsubscribe_url"])
        let mail = t.render(MergeValues(owner: .init(name: "Ada", email: "ada@example.com"), sender: sender,
                                        extra: ["unsubscribe_url": "https://x.example/u?a=1&b=2"]))
        #expect(mail.subject == "From Example News")
        #expect(mail.html == "Ada <ada@example.com> news@example.com help@example.com https://x.example/u?a=1&amp;b=2")
        #expect(problems(html: "{{unsubscribe_url}}").count == 1, "extra names exist only when the engine adds them")
    }

    @Test func sectionsShowTextByValue() throws {
        let t = try compile(subject: "x", html: "Hi{{#mailing_city}} in {{mailing_city}}{{/mailing_city}}{{^mailing_city}} near you{{/mailing_city}}",
                            text: "{{#email_opt_out}}opted out{{/email_opt_out}}{{^email_opt_out}}welcome{{/email_opt_out}}")
        #expect(t.fieldNames == ["mailing_city", "email_opt_out"])
        #expect(t.render(MergeValues(fields: ["mailing_city": "Berlin"])).html == "Hi in Berlin")
        #expect(t.render(MergeValues(fields: [:])).html == "Hi near you")
        #expect(t.render(MergeValues(fields: ["email_opt_out": "false"])).text == "welcome", "a false boolean hides its section")
        #expect(t.render(MergeValues(fields: ["email_opt_out": "true"])).text == "opted out")
        // Standalone section lines disappear, as in Mustache.
        let lines = try compile(text: "Hello\n{{#title}}\n{{title}}\n{{/title}}\nBye")
        #expect(lines.render(MergeValues(fields: ["title": "CEO"])).text == "Hello\nCEO\nBye")
        #expect(lines.render(MergeValues()).text == "Hello\nBye")
    }

    @Test func recordValuesAsText() throws {
        let module = BuiltinModules.deals
        let t = try CompiledTemplate(subject: "{{deal_name}}: {{amount}}", html: "{{closing_date}}", text: nil, module: module)
        let record = Record(id: 3, values: ["deal_name": .text("Big"), "amount": .currency(123456), "closing_date": .date(LocalDate(iso: "2026-12-01")!)])
        let mail = t.render(MergeValues(record: record))
        #expect(mail.subject == "Big: 1234.56")
        #expect(mail.html == "2026-12-01" && mail.text == "2026-12-01")
    }

    @Test func textIsMadeFromTheHTMLWithTagsKept() throws {
        let t = try compile(html: "<p>Hi {{first_name | \"there\"}},</p><p><a href=\"https://example.com/{{last_name}}\">Your page</a></p>")
        let mail = t.render(MergeValues(fields: ["first_name": "Ann & Bo", "last_name": "x"]))
        #expect(mail.text == "Hi Ann & Bo,\n\nYour page (https://example.com/x)")
        // Lines are wrapped by their rendered length, not the length of their tags.
        let long = try compile(html: "<p>Thank you for your interest{{#account_name}} at {{account_name}}{{/account_name}}. {{owner.name}} will call.</p>")
        #expect(long.render(MergeValues(fields: ["account_name": "Acme GmbH"], owner: .init(name: "Ann", email: "a@example.com"))).text
                == "Thank you for your interest at Acme GmbH. Ann will call.")
        let wordy = long.render(MergeValues(fields: ["account_name": String(repeating: "Acme ", count: 20)])).text
        #expect(wordy.split(separator: "\n").count > 1 && wordy.split(separator: "\n").allSatisfy { $0.count <= HTMLText.lineLength })
        // A mistake that only shows in the derived text is reported on the HTML.
        #expect(problems(html: "<style>{{#title}}</style>{{/title}}").first?.hasPrefix("html: in the text made from the HTML, line 1, column 1:") == true)
    }

    /// Wrapping a rendered text wraps each of its lines as the converter does, whether the
    /// line was wrapped when the template was compiled (no merge tag in it) or not.
    @Test func wrappingARenderedTextWrapsEachLine() throws {
        let words = ["a", "word", "Grüße", "https://example.com/a/rather/long/path/that/is/one/word", "-", " ", "  "]
        for _ in 0..<300 {
            let lines = (0..<Int.random(in: 1...6)).map { _ in (0..<Int.random(in: 0...40)).map { _ in words.randomElement()! }.joined(separator: " ") }
            let text = lines.joined(separator: "\n")
            #expect(HTMLText.wrapLines(text) == lines.map { HTMLText.wrapLines($0) }.joined(separator: "\n"))
            #expect(HTMLText.wrapLines(text) == lines.map { HTMLText.wrap($0) }.joined(separator: "\n"))
        }
        let lorem = "<p>" + Array(repeating: "Lorem ipsum dolor sit amet,", count: 8).joined(separator: " ") + "</p>"
        let t = try compile(html: "<p>Hi {{first_name}}, " + Array(repeating: "news", count: 20).joined(separator: " ") + "</p>" + lorem)
        let text = t.render(MergeValues(fields: ["first_name": "Ann"])).text
        #expect(text == HTMLText.plainText(fromHTML: "<p>Hi Ann, " + Array(repeating: "news", count: 20).joined(separator: " ") + "</p>" + lorem))
    }

    @Test func htmlToText() {
        func text(_ html: String) -> String { HTMLText.plainText(fromHTML: html) }
        #expect(text("<p>One</p><p>Two</p>") == "One\n\nTwo")
        #expect(text("a<br>b<br/>c") == "a\nb\nc")
        #expect(text("<h1>Title</h1>Body") == "Title\n\nBody")
        #expect(text("<ul><li>one</li><li>two</li></ul>after") == "- one\n- two\n\nafter")
        #expect(text("<a href=\"https://example.com\">https://example.com</a>") == "https://example.com")
        #expect(text("<a href='https://example.com/a?b=1&amp;c=2'>Go</a>") == "Go (https://example.com/a?b=1&c=2)")
        #expect(text("<a href=\"mailto:a@example.com\">a@example.com</a>") == "a@example.com")
        #expect(text("<html><head><title>T</title><style>p{color:red}</style></head><body><script>x()</script>Hi</body></html>") == "Hi")
        #expect(text("Fish &amp; chips &lt;3 &#8364;5 &#x263A; &nbsp;x &bogus; & more") == "Fish & chips <3 €5 ☺  x &bogus; & more")
        #expect(text("  lots   of\n\n  space  ") == "lots of space")
        #expect(text("<!-- hidden -->shown") == "shown")
        #expect(text("<div>a</div><div>b</div>") == "a\n\nb")
        #expect(text("<pre>a\n  b</pre>") == "a\n  b")
        #expect(text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>") == "a b\nc")
        #expect(text("1 < 2") == "1 < 2")
        let long = text("<p>" + Array(repeating: "word", count: 40).joined(separator: " ") + " {{first_name | \"dear reader\"}}</p>")
        #expect(long.split(separator: "\n").allSatisfy { $0.count <= HTMLText.lineLength })
        #expect(long.contains("{{first_name | \"dear reader\"}}"), "a merge tag is never split")
        let item = text("<ul><li>" + Array(repeating: "long", count: 30).joined(separator: " ") + "</li></ul>")
        #expect(item.split(separator: "\n").dropFirst().allSatisfy { $0.hasPrefix("  long") })
    }

    @Test func rendersTenThousandRecords() throws {
        let t = try compile(subject: "Hello {{first_name | \"there\"}}",
                            html: "<p>Dear {{first_name}} {{last_name}},</p>{{#mailing_city}}<p>News from {{mailing_city}}</p>{{/mailing_city}}<p>{{sender.name}}</p>",
                            extra: ["unsubscribe_url"])
        var bytes = 0
        for i in 0..<10_000 {
            let values = MergeValues(fields: ["first_name": "Name\(i)", "last_name": "Last", "mailing_city": i % 2 == 0 ? "Berlin" : ""],
                                     sender: sender)
            let mail = t.render(values)
            bytes += mail.html.utf8.count + mail.text.utf8.count
            if i == 1 { #expect(mail.html == "<p>Dear Name1 Last,</p><p>Example News</p>") }
        }
        #expect(bytes > 0)
    }

    /// A deal's template reaches its contact's fields through the lookup (its mail goes to the
    /// contact): `{{contact.first_name}}`, checked against the contacts' fields.
    @Test func aLookupsRecordsFieldsAreMergeFields() throws {
        let deals = BuiltinModules.deals
        let lookups = CompiledTemplate.lookups(of: deals, among: BuiltinModules.all)
        #expect(lookups.mapValues(\.apiName) == ["contact": "contacts"])
        let compiled = try CompiledTemplate(subject: "About {{deal_name}}", html: "<p>Hi {{contact.first_name | \"there\"}}{{#contact.email_opt_out}}!{{/contact.email_opt_out}}</p>",
                                            text: nil, module: deals, lookups: lookups)
        #expect(compiled.fieldNames == ["deal_name", "contact"])
        #expect(compiled.lookupFields == ["contact": ["first_name", "email_opt_out"]])
        let values = MergeValues(fields: ["deal_name": "Big deal", "contact.first_name": "Bea <B>", "contact.email_opt_out": "false"])
        #expect(compiled.render(values).html == "<p>Hi Bea &lt;B&gt;</p>")
        #expect(compiled.render(MergeValues(fields: ["deal_name": "Big deal"])).html == "<p>Hi there</p>")
        do {
            _ = try CompiledTemplate(subject: "{{contact.nope}}", html: "<p>x</p>", text: nil, module: deals, lookups: lookups)
            Issue.record("an unknown field of the lookup's module compiled")
        } catch let error as HeraldError {
            #expect(error.problems.map(\.description) == ["subject: line 1, column 1: unknown merge field 'contact.nope': Contacts has no field 'nope'"])
        }
        // Without the lookups given, it is no merge field.
        #expect(throws: HeraldError.self) { try CompiledTemplate(subject: "{{contact.first_name}}", html: "<p>x</p>", text: nil, module: deals) }
        #expect(CompiledTemplate.mergeFieldNames(of: deals, lookups: lookups).contains("contact.last_name"))
    }

    @Test func savedTemplateWithBlankTextIsMadeFromHTML() throws {
        let saved = MailTemplate(id: 1, module: "contacts", name: "n", subject: "s", html: "<p>a</p>", text: "  ", createdBy: nil,
                                 createdAt: 0, modifiedAt: 0)
        #expect(try CompiledTemplate(saved, module: contacts).render(MergeValues()).text == "a")
        #expect(CompiledTemplate.mergeFieldNames(of: contacts).contains("sender.reply_to"))
    }
}
