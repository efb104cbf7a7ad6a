import Foundation
@testable import HeraldStore
import Testing

/// The JSON text handed to SQLite's `json_each` must read back as exactly the values written.
@Suite struct JSONRowsTests {
    @Test func stringsReadBackAsWritten() throws {
        let values = ["", "plain", "quote\"d", "back\\slash", "\\\"", "line\nbreak\r\ttab", "\u{0}nul\u{1f}",
                      "Zoë 🚀", "\"starts", "ends\\", String(repeating: "long run ", count: 200)]
        let json = JSONRows.strings(values)
        let decoded = try JSONDecoder().decode([String].self, from: Data(json.utf8))
        #expect(decoded == values)
    }

    @Test func rowsReadBackAsWritten() throws {
        var rows = JSONRows()
        rows.row(); rows.add("a\"b"); rows.add(Int64(7)); rows.add(nil as String?)
        rows.row(); rows.add("\\"); rows.add(Int64(-1)); rows.add("ü\n")
        let decoded = try JSONSerialization.jsonObject(with: Data(rows.json.utf8)) as? [[Any]]
        #expect(decoded?.count == 2)
        #expect(decoded?[0][0] as? String == "a\"b")
        #expect(decoded?[0][2] is NSNull)
        #expect(decoded?[1][0] as? String == "\\")
        #expect(decoded?[1][2] as? String == "ü\n")
    }
}
