import Foundation

/// A streaming RFC 4180 CSV reader: feed it bytes as they arrive, take complete rows out.
///
/// It never holds more than one row, so a file of any size is read in constant memory.
/// Quoted fields may contain commas, quotes (doubled) and line breaks; rows end in CRLF or LF;
/// a UTF-8 byte order mark at the start is skipped.
///
/// ```swift
/// var parser = CSVParser()
/// for try chunk in file { for row in try parser.feed(chunk) { … } }
/// for row in try parser.finish() { … }
/// ```
public struct CSVParser: Sendable {
    /// A row and the 1-based line of the file it started on.
    public struct Row: Sendable, Hashable {
        public var line: Int
        public var fields: [String]
    }

    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// The longest field, in bytes, and the most fields in a row.
    public var maxFieldBytes = 65_536
    public var maxFields = 500

    private var field: [UInt8] = []
    private var fields: [String] = []
    private var inQuotes = false
    private var quoteSeen = false  // the previous byte closed a quote, or doubles one
    private var fieldStarted = false
    private var line = 1
    private var rowLine = 1
    private var atStart = true
    private var bomBytes = 0
    private var pendingCR = false

    public init() {}

    /// Reads `bytes`, returning the rows they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(Error) -> [Row] {
        let bytes = Array(bytes)
        var rows: [Row] = []
        var failure: Error?
        bytes.withUnsafeBufferPointer { buffer in
            do throws(Error) { try feed(buffer, into: &rows) } catch { failure = error }
        }
        if let failure { throw failure }
        return rows.filter { !($0.fields.count == 1 && $0.fields[0].isEmpty) }
    }

    /// The bytes of a run of plain text (in quotes: up to the next quote) are taken at once,
    /// not one by one: a large import is mostly such runs.
    private mutating func feed(_ buffer: UnsafeBufferPointer<UInt8>, into rows: inout [Row]) throws(Error) {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var i = 0
        while i < buffer.count {
            let byte = buffer[i]
            if atStart {
                // Skip a UTF-8 BOM (EF BB BF) at the very start of the file.
                let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
                if byte == bom[bomBytes] {
                    bomBytes += 1
                    if bomBytes == 3 { atStart = false }
                    i += 1
                    continue
                }
                atStart = false
                if bomBytes > 0 { field.append(contentsOf: bom[0..<bomBytes]); fieldStarted = true }
            }
            if pendingCR {
                pendingCR = false
                if byte == lf { i += 1; continue }
            }
            if inQuotes {
                if byte == quote {
                    inQuotes = false
                    quoteSeen = true
                    i += 1
                } else {
                    var end = i
                    while end < buffer.count, buffer[end] != quote {
                        if buffer[end] == lf { line += 1 }
                        end += 1
                    }
                    try append(buffer[i..<end])
                    i = end
                }
                continue
            }
            switch byte {
            case quote:
                if quoteSeen {
                    // A doubled quote inside a quoted field.
                    try append(buffer[i..<i + 1])
                    inQuotes = true
                    quoteSeen = false
                } else if !fieldStarted {
                    inQuotes = true
                    fieldStarted = true
                } else {
                    throw Error(line: line, reason: "a quote in the middle of an unquoted field (quote the whole field and double the quote)")
                }
                i += 1
            case comma:
                try endField()
                i += 1
            case cr, lf:
                try endField()
                rows.append(Row(line: rowLine, fields: fields))
                fields = []
                if byte == cr { pendingCR = true }
                line += 1
                rowLine = line
                i += 1
            default:
                if quoteSeen { throw Error(line: line, reason: "text after a closing quote") }
                var end = i + 1
                while end < buffer.count {
                    let next = buffer[end]
                    if next == comma || next == quote || next == cr || next == lf { break }
                    end += 1
                }
                try append(buffer[i..<end])
                fieldStarted = true
                i = end
            }
        }
    }

    /// Ends the input, returning the last row if the file did not end with a line break.
    public mutating func finish() throws(Error) -> [Row] {
        if inQuotes { throw Error(line: rowLine, reason: "a quoted field is never closed") }
        guard fieldStarted || !fields.isEmpty || !field.isEmpty else { return [] }
        try endField()
        let row = Row(line: rowLine, fields: fields)
        fields = []
        return row.fields.count == 1 && row.fields[0].isEmpty ? [] : [row]
    }

    private mutating func append(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) throws(Error) {
        guard field.count + bytes.count <= maxFieldBytes else {
            throw Error(line: line, reason: "a field is longer than \(maxFieldBytes) bytes")
        }
        field.append(contentsOf: bytes)
    }

    private mutating func endField() throws(Error) {
        // An ASCII field (most of them) is valid UTF-8 as it is: `String(validating:as:)` runs as
        // generic code, a type metadata lookup each call, 3 % of a million-row import's CPU.
        let text: String
        if field.allSatisfy({ $0 < 0x80 }) {
            text = String(decoding: field, as: UTF8.self)
        } else if let valid = String(validating: field, as: UTF8.self) {
            text = valid
        } else {
            throw Error(line: line, reason: "is not valid UTF-8 (save the file as UTF-8)")
        }
        guard fields.count < maxFields else { throw Error(line: line, reason: "has more than \(maxFields) columns") }
        fields.append(text)
        field.removeAll(keepingCapacity: true)
        fieldStarted = false
        quoteSeen = false
    }
}

/// Writes CSV rows (RFC 4180), quoting only where needed.
public enum CSVWriter {
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\r\n"
    }

    /// Numbers and phone numbers (`-5`, `+44 20 7946 0000`) start with a sign but run no formula.
    static func looksNumeric(_ value: String) -> Bool {
        value.dropFirst().allSatisfy { $0.isASCII && ($0.isNumber || " ()./-".contains($0)) }
    }

    public static func escape(_ field: String) -> String {
        // A leading = + - @ makes spreadsheets run the cell as a formula (CSV injection);
        // prefixing a quote keeps the text as text.
        var value = field
        if let first = value.first, "=+-@\t\r".contains(first), !CSVWriter.looksNumeric(value) { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }
}
