import Foundation
import HeraldCore
import Testing

@Suite struct FieldValueTests {
    func parse(_ input: FieldInput, _ type: FieldType, values: [String] = []) -> Result<FieldValue?, Problem> {
        FieldValueParser.parse(input, for: Field(apiName: "f", label: "F", type: type, picklistValues: values))
    }

    @Test func textLimitsAndLines() throws {
        #expect(try parse(.text("  hi  "), .text).get() == .text("hi"))
        #expect(try parse(.text("   "), .text).get() == nil)
        #expect((try? parse(.text(String(repeating: "x", count: 256)), .text).get()) == nil)
        #expect((try? parse(.text("a\nb"), .text).get()) == nil)
        #expect(try parse(.text("a\nb"), .longText).get() == .text("a\nb"))
        for broken in ["a\rb", "a\r\nb", "a\u{0B}b", "a\u{0C}b", "é\u{2028}b", "é\u{0085}b", "é\nb"] {
            #expect((try? parse(.text(broken), .text).get()) == nil, "\(broken.debugDescription) breaks the line")
        }
        #expect(try parse(.text("é\tb"), .text).get() == .text("é\tb"))
        #expect((try? parse(.text("a\u{0}b"), .text).get()) == nil)
        // The limit counts characters: 255 two-byte ones fit, 256 one-byte ones do not.
        #expect(try parse(.text(String(repeating: "é", count: 255)), .text).get() == .text(String(repeating: "é", count: 255)))
    }

    @Test func emails() {
        for good in ["a@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.ie", "a@1.example.c-m", "x@a.b",
                     "\(String(repeating: "l", count: 64))@\(String(repeating: "d", count: 63)).com"] { #expect(EmailAddress.isValid(good), "\(good)") }
        for bad in ["", "a", "a@", "@b.com", "a@b", "a b@example.com", "a@exa mple.com", "a..b@example.com", "a.b..@example.com",
                    "..@example.com", "a@-x.com", "a@example.123", "a@example..com", "a@example.com.", "a@.example.com",
                    "a@x-.com", "a@example.co-", ".a@example.com", "a.@example.com", "é@example.com", "a@exämple.com",
                    "\(String(repeating: "l", count: 65))@example.com", "a@\(String(repeating: "d", count: 64)).com", "a@b@example"] {
            #expect(!EmailAddress.isValid(bad), "\(bad)")
        }
    }

    /// The form addresses are compared in: trimmed and lower-cased, whether or not the
    /// address was lower-case ASCII already (kept as it is) or had capitals or other letters.
    @Test func normalizedAddresses() {
        let cases = ["ann@example.com": "ann@example.com", "  Ann@Example.COM\t": "ann@example.com",
                     "ZOË@Example.org": "zoë@example.org", "zoë@example.org": "zoë@example.org", " x@y.z ": "x@y.z",
                     "A": "a", "": "", "@[]^_`{}": "@[]^_`{}"]
        for (given, expected) in cases { #expect(EmailAddress.normalized(given) == expected, "\(given)") }
    }

    @Test func numbersAndCurrency() throws {
        #expect(try parse(.json(.number(2.5)), .number).get() == .number(2.5))
        #expect(try parse(.text("1e3"), .number).get() == .number(1000))
        #expect((try? parse(.text("NaN"), .number).get()) == nil)
        #expect((try? parse(.json(.string("x")), .number).get()) == nil)
        #expect(try parse(.text("12.3"), .currency).get() == .currency(1230))
        #expect(try parse(.json(.number(1234.5)), .currency).get() == .currency(123_450))
        #expect(try parse(.text("-0.05"), .currency).get() == .currency(-5))
        #expect((try? parse(.text("1.234"), .currency).get()) == nil)
        #expect(FieldValue.currency(-5).text == "-0.05")
        #expect(FieldValue.currency(123_450).text == "1234.50")
    }

    @Test func datesAndTimes() throws {
        #expect(try parse(.text("2024-02-29"), .date).get() == .date(LocalDate(year: 2024, month: 2, day: 29)!))
        #expect((try? parse(.text("2023-02-29"), .date).get()) == nil)
        #expect((try? parse(.text("29/02/2024"), .date).get()) == nil)
        #expect(try parse(.text("2026-11-27T10:00:00+01:00"), .datetime).get() == .datetime(1_795_770_000))
        #expect((try? parse(.text("2026-11-27T10:00:00"), .datetime).get()) == nil, "no zone, no guess")
    }

    @Test func booleansPicklistsAndReferences() throws {
        #expect(try parse(.text("Yes"), .boolean).get() == .bool(true))
        #expect(try parse(.json(.bool(false)), .boolean).get() == .bool(false))
        #expect((try? parse(.text("maybe"), .boolean).get()) == nil)
        #expect(try parse(.text("gold"), .picklist, values: ["Gold", "Silver"]).get() == .text("Gold"))
        #expect(try parse(.text("Silver"), .picklist, values: ["Gold", "Silver"]).get() == .text("Silver"))
        #expect((try? parse(.text("Bronze"), .picklist, values: ["Gold"]).get()) == nil)
        #expect(try parse(.json(.number(7)), .lookup).get() == .reference(7))
        #expect((try? parse(.json(.number(-1)), .user).get()) == nil)
        #expect((try? parse(.json(.array([])), .text).get()) == nil)
    }

    @Test func recordChangesReportEveryProblem() {
        let module = BuiltinModules.contacts
        let result = RecordChanges.validate([
            "email": .text("nope"), "unknown": .text("x"), "created_at": .text("2026-01-01T00:00:00Z"),
        ], module: module, creating: true)
        guard case .failure(let error) = result else { Issue.record("expected failure"); return }
        #expect(error.problems.map(\.field).sorted() == ["created_at", "email", "last_name", "unknown"])
    }

    @Test func apiNames() {
        #expect(APIName.problem(with: "ok_name1") == nil)
        #expect(APIName.problem(with: "1abc") != nil)
        #expect(APIName.problem(with: "a-b") != nil)
        #expect(APIName.problem(with: "x; DROP") != nil)
        #expect(APIName.from(label: "Mailing City") == "mailing_city")
        #expect(APIName.from(label: "2nd Email!") == "f_2nd_email")
    }
}
