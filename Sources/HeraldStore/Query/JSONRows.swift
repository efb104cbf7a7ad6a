/// Many rows handed to SQLite as one bound JSON text, read back with `json_each` (each row an
/// array: `value ->> 0`, `value ->> 1`, …), instead of a placeholder per value.
///
/// Why: SQLite parses a statement's text each time it runs (SQLiteNIO keeps no prepared
/// statements), and a few hundred rows of `(?, ?, …)` made parsing the largest part of
/// writing a delivery's outcomes and messages; a statement over `json_each(?)` is short and
/// the same every time, and SQLite reads the JSON in C. PostgreSQL gets arrays instead
/// (`unnest`), for the same reason.
struct JSONRows {
    private(set) var text: [UInt8]
    private var rowHasValue = false
    private var isFirstRow = true

    init(capacity rows: Int = 0, bytesPerRow: Int = 48) {
        text = [UInt8(ascii: "[")]
        text.reserveCapacity(rows * bytesPerRow + 2)
    }

    /// Starts the next row.
    mutating func row() {
        if !isFirstRow { text.append(UInt8(ascii: "]")); text.append(UInt8(ascii: ",")) }
        text.append(UInt8(ascii: "["))
        isFirstRow = false
        rowHasValue = false
    }

    mutating func add(_ value: Int64?) {
        separate()
        guard let value else { return appendNull() }
        text.append(contentsOf: String(value).utf8)
    }

    mutating func add(_ value: Int?) { add(value.map(Int64.init)) }

    mutating func add(_ value: Double) {
        separate()
        // Checked values are finite; "1e-05" and "2.5" are JSON numbers as Swift writes them.
        text.append(contentsOf: (value.isFinite ? "\(value)" : "null").utf8)
    }

    mutating func add(_ value: Bool) {
        separate()
        text.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func add(_ value: String?) {
        separate()
        guard var value else { return appendNull() }
        text.append(UInt8(ascii: "\""))
        // Runs of bytes that need no escape (all of most values) are copied whole.
        value.withUTF8 { bytes in
            var start = 0
            for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
                if byte < 0x20 {
                    // Control characters as \u00XX; everything else, UTF-8 included, as it is.
                    text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                             Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0xF)]])
                } else {
                    text.append(UInt8(ascii: "\\"))
                    text.append(byte)
                }
                start = i + 1
            }
            text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        text.append(UInt8(ascii: "\""))
    }

    /// The JSON text: `[[…],[…]]` (or `[]` with no row).
    var json: String {
        var bytes = text
        if !isFirstRow { bytes.append(UInt8(ascii: "]")) }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A flat JSON array of integers (`[1,2,3]`, read with `json_each`'s `value`).
    static func integers(_ values: some Sequence<Int64>) -> String {
        var text: [UInt8] = [UInt8(ascii: "[")]
        for value in values {
            if text.count > 1 { text.append(UInt8(ascii: ",")) }
            text.append(contentsOf: String(value).utf8)
        }
        text.append(UInt8(ascii: "]"))
        return String(decoding: text, as: UTF8.self)
    }

    /// A flat JSON array of strings (`["a","b"]`, read with `json_each`'s `value`).
    static func strings(_ values: some Sequence<String>) -> String {
        // Values added before any row() are the outer array's own.
        var list = JSONRows(capacity: values.underestimatedCount, bytesPerRow: 32)
        for value in values { list.add(value) }
        return list.json
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func separate() {
        if rowHasValue { text.append(UInt8(ascii: ",")) }
        rowHasValue = true
    }

    private mutating func appendNull() {
        text.append(contentsOf: "null".utf8)
    }
}
