import Foundation
@testable import HeraldCore
@testable import HeraldWeb
import Mustache
import Testing

/// Typed page models as Mustache reads them, and the times the pages write, without a server.
@Suite struct PageModelTests {
    @Test func templateKeysNameSwiftProperties() {
        let table: [(String, String)] = [
            ("name", "name"), ("has_errors", "hasErrors"), ("mass_email_link", "massEmailLink"),
            ("mass_email_id", "massEmailID"), ("record_ids", "recordIDs"), ("id", "id"), ("preview_url", "previewURL"),
            ("fields_json", "fieldsJSON"), ("is_json", "isJSON"), ("stop_label", "stopLabel"),
        ]
        for (key, property) in table {
            #expect(PageModelKey.names(key, property), "\(key)")
        }
        let others: [(String, String)] = [
            ("name", "names"), ("names", "name"), ("has_error", "hasErrors"), ("", "a"), ("a", ""), ("is_admin", "isAdmim"),
            ("_", "a"), ("mass_email", "massEmailID"),
        ]
        for (key, property) in others {
            #expect(!PageModelKey.names(key, property), "\(key) is not \(property)")
        }
    }

    struct Row: PageModel {
        let name: String
        let reason: String?
        let count: Int?
    }

    struct Page: PageModel {
        let title: String
        let reason: String
        let rows: [Row]
        let isAdmin: Bool
        let note: String?
        let figures: [String: String]
    }

    func render(_ template: String, _ page: Page) throws -> String {
        let library = MustacheLibrary(templates: ["page": try MustacheTemplate(string: template)])
        return library.render(page, withTemplate: "page") ?? "missing"
    }

    @Test func optionalsReadAsTheirValueOrAsNullNeverAsOptional() throws {
        let page = Page(title: "T", reason: "the page's", rows: [Row(name: "a", reason: "own", count: 3), Row(name: "b", reason: nil, count: nil)],
                        isAdmin: false, note: nil, figures: ["sent": "12"])
        #expect(try render("{{#rows}}{{name}}:{{count}};{{/rows}}", page) == "a:3;b:;")
        // A row's empty reason is its own null, not the page's reason (a follow-up's
        // missing reason must not show its mass email's).
        #expect(try render("{{#rows}}[{{#reason}}{{reason}}{{/reason}}{{^reason}}none{{/reason}}]{{/rows}}", page) == "[own][none]")
        #expect(try render("{{#note}}x{{/note}}{{^note}}no note{{/note}} {{^is_admin}}not admin{{/is_admin}} {{figures.sent}}", page)
                == "no note not admin 12")
        // A name no model along the way has is looked up outward, as Mustache does.
        #expect(try render("{{#rows}}{{title}}{{/rows}}", page) == "TT")
    }

    @Test func jsonValuesRenderAsTheAPIWritesThem() throws {
        struct Shown: PageModel { let value: JSONValue }
        let value = JSONValue.object([
            "port": .number(587), "ratio": .number(0.5), "host": .string("relay"), "tls": .bool(true), "user": .null,
            "list": .array([.string("a"), .string("b")]),
        ])
        let library = MustacheLibrary(templates: ["t": try MustacheTemplate(
            string: "{{#value}}{{host}}:{{port}} {{ratio}} {{#tls}}tls{{/tls}} [{{user}}]{{^user}}no user{{/user}} {{#list}}{{.}},{{/list}}{{/value}}")])
        #expect(library.render(Shown(value: value), withTemplate: "t") == "relay:587 0.5 tls []no user a,b,")
    }

    @Test func aFigureWritesOnlyWhatItHas() async throws {
        struct Outer: PageModel { let id: Int64; let counts: [Figure] }
        var library = try await PageRenderer.load().library
        let template = try MustacheTemplate(string: "{{#counts}}{{> figure}}{{/counts}}")
        library.register(template, named: "figures-test")
        let page = Outer(id: 42, counts: [
            Figure(count: 2, label: "sent"),
            Figure(count: 3, label: "complained", note: "1.5%", id: "complaints", title: "under \"0.3%\"", over: true),
        ])
        // The first has no id of its own: the mass email's id around it is not its id.
        #expect(library.render(page, withTemplate: "figures-test")
                == #"<li><strong>2</strong> sent</li><li id="complaints" class="over" title="under &quot;0.3%&quot;"><strong>3</strong> complained <span class="muted">1.5%</span></li>"#)
    }

    /// The reference: what the pages wrote with a `DateFormatter` a value.
    func formatted(_ epoch: Int64, _ zone: TimeZone, _ format: String, locale: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: locale)
        formatter.timeZone = zone
        formatter.dateFormat = format
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(epoch)))
    }

    @Test func localTimesMatchDateFormatterAcrossZonesAndChangesOfOffset() throws {
        let zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Kiritimati",
                     "America/St_Johns", "Asia/Kathmandu"].compactMap(TimeZone.init(identifier:))
        #expect(zones.count == 8)
        // Around DST changes, year and month ends, a leap day, the epoch and before it.
        var instants: [Int64] = [0, -1, -86_400 * 365 - 7, 951_782_400, 1_709_164_800, 1_711_846_799, 1_711_846_800,
                                 1_729_990_800, 1_730_000_000, 1_735_689_599, 1_735_689_600, 4_102_444_800]
        var seed: UInt64 = 42
        for _ in 0..<300 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            instants.append(Int64(seed >> 34) - 1_000_000_000)  // 1938 to 2514
        }
        for zone in zones {
            let local = LocalTime(zone: zone)
            for t in instants {
                #expect(local.readable(t) == formatted(t, zone, "d MMM yyyy, HH:mm", locale: "en_GB"), "\(zone.identifier) \(t)")
                #expect(local.numeric(t) == formatted(t, zone, "yyyy-MM-dd HH:mm", locale: "en_US_POSIX"), "\(zone.identifier) \(t)")
                #expect(local.input(t) == formatted(t, zone, "yyyy-MM-dd'T'HH:mm", locale: "en_US_POSIX"), "\(zone.identifier) \(t)")
                #expect(local.day(t) == formatted(t, zone, "d MMM", locale: "en_GB"))
                #expect(local.day(t, hour: true) == formatted(t, zone, "d MMM, HH:00", locale: "en_GB"))
                // What a form sends back reads as an instant at that local minute (one of two
                // when the clocks go back).
                let parsed = try #require(local.parseInput(local.input(t)))
                #expect(local.input(Int64(parsed.timeIntervalSince1970)) == local.input(t), "\(zone.identifier) \(t)")
                #expect(Int64(parsed.timeIntervalSince1970) % 60 == 0)
            }
        }
    }

    @Test func aTypedLocalTimeIsReadOrRefused() throws {
        let berlin = LocalTime(zoneNamed: "Europe/Berlin")
        #expect(berlin.parseInput("2026-07-01T10:15")?.timeIntervalSince1970 == 1_782_893_700)
        #expect(berlin.parseInput("2026-07-01 10:15")?.timeIntervalSince1970 == 1_782_893_700)
        #expect(berlin.parseInput("2026-07-01T10:15:30")?.timeIntervalSince1970 == 1_782_893_730)
        #expect(berlin.parseInput("2026-01-01T10:15")?.timeIntervalSince1970 == 1_767_258_900)
        #expect(berlin.parseInput("2028-02-29T00:00") != nil)
        for bad in ["", "2026-07-01", "2026-07-01T10", "2026-13-01T10:15", "2026-02-29T10:15", "2026-04-31T00:00",
                    "2026-07-01T24:00", "2026-07-01T10:60", "2026-07-01T10:15:60", "2026-07-01X10:15", "2026-07-01T1a:15",
                    "２026-07-01T10:15", "2026-07-01T10:15Z"] {
            #expect(berlin.parseInput(bad) == nil, "\(bad)")
        }
        #expect(LocalTime(zoneNamed: "Not/A_Zone").zone == .gmt)
    }

    /// The mass email form lists a problem under the name the form gives its field.
    @Test(arguments: [
        ("name", "Name"), ("template_id", "Template"), ("sender_id", "Sender"), ("recipients.record_ids", "Recipients"),
        ("schedule.at", "When"), ("schedule.time_zone", "When"), ("new_template.subject", "New template: subject"),
        ("follow_ups[1].delay", "Follow-up 2, delay"), ("follow_ups[2].exclude.rules[0].value", "Follow-up 3, rule 1, value"),
        ("follow_ups[0].template_id", "Follow-up 1, template"), ("trigger_actions[0].field_value", "Follow-up action 1, field value"),
        ("ab_test.test_percent", "A/B test: test percent"), ("something_else", "something_else"), ("follow_ups[x]", "follow_ups[x]"),
    ])
    func aMassEmailFormProblemIsNamedAsOnTheForm(field: String, label: String) {
        #expect(MassEmailPages.formLabel(field) == label)
    }

    /// `any_x` opens the part around a list's items only when it has some (`x.0` never did).
    @Test func anyOfAListSaysWhetherItHasItems() {
        struct Model: PageModel { let errors: [String]; let none: [String] }
        let model = Model(errors: ["a"], none: [])
        #expect(model.child(named: "any_errors") as? Bool == true)
        #expect(model.child(named: "any_none") as? Bool == false)
        #expect(model.child(named: "any_missing") == nil)
    }

    /// Where the API's words would puzzle a person at the form (ISO 8601 for a picker, JSON
    /// keys for a select), the form says it in its own; other problems are left as they are.
    @Test func aMassEmailFormSaysInItsOwnWordsWhatTheAPISaysInJSON() {
        let call = MassEmailPages.inFormWords(Problem(field: "trigger_actions[1].start_at", reason: "'' is not a date and time (ISO 8601 with a zone)"))
        #expect(call.field == "trigger_actions[1].start_at" && call.reason == "choose the date and time of the call, or a time after the event")
        let who = MassEmailPages.inFormWords(Problem(field: "recipients", reason: "is required: {\"view_id\": …}"))
        #expect(who.reason == "choose who receives it")
        let name = Problem(field: "name", reason: "is required")
        #expect(MassEmailPages.inFormWords(name) == name)
    }
}
