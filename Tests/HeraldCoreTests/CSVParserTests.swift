import HeraldCore
import Testing

@Suite struct CSVParserTests {
    func rows(_ text: String, chunk: Int = 3) throws -> [[String]] {
        var parser = CSVParser()
        var out: [CSVParser.Row] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            out += try parser.feed(bytes[start..<min(start + chunk, bytes.count)])
        }
        out += try parser.finish()
        return out.map(\.fields)
    }

    @Test func quotingLineBreaksAndBOM() throws {
        #expect(try rows("\u{FEFF}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",é\n") == [["a", "b"], ["x, y", "say \"hi\""], ["multi\nline", "é"]])
        #expect(try rows("a,b\nc,d") == [["a", "b"], ["c", "d"]], "no final newline")
        #expect(try rows("a,,\n\n,b,\n") == [["a", "", ""], ["", "b", ""]], "blank lines skipped, empty fields kept")
    }

    /// Runs of plain text are taken at once: however the file is cut into chunks, the rows,
    /// their line numbers and the field limit come out the same.
    @Test func chunkBoundariesDoNotMatter() throws {
        let text = "\u{FEFF}name,note\r\nAda,\"a, \"\"b\"\"\nc\"\r\n\"\",plain text here\nBob,é\n\nCy,\"x\"\n"
        let whole = try rows(text, chunk: text.utf8.count)
        #expect(whole == [["name", "note"], ["Ada", "a, \"b\"\nc"], ["", "plain text here"], ["Bob", "é"], ["Cy", "x"]])
        for chunk in [1, 2, 3, 5, 7, 11] { #expect(try rows(text, chunk: chunk) == whole, "chunks of \(chunk)") }

        var parser = CSVParser()
        let lines = try parser.feed(Array(text.utf8)) + parser.finish()
        #expect(lines.map(\.line) == [1, 2, 4, 5, 7])

        for chunk in [1, 4, 64] {
            func parse(_ length: Int) throws -> [[String]] {
                var limited = CSVParser()
                limited.maxFieldBytes = 10
                let bytes = Array(("a," + String(repeating: "x", count: length) + "\n").utf8)
                var out: [CSVParser.Row] = []
                for start in stride(from: 0, to: bytes.count, by: chunk) {
                    out += try limited.feed(bytes[start..<min(start + chunk, bytes.count)])
                }
                return (out + (try limited.finish())).map(\.fields)
            }
            #expect(try parse(10) == [["a", String(repeating: "x", count: 10)]], "chunks of \(chunk)")
            #expect(throws: CSVParser.Error.self, "chunks of \(chunk)") { _ = try parse(11) }
        }
    }

    @Test func lineNumbersCountQuotedBreaks() throws {
        var parser = CSVParser()
        let out = try parser.feed(Array("h\n\"a\nb\"\nc\n".utf8))
        #expect(out.map(\.line) == [1, 2, 4])
    }

    @Test func errors() {
        #expect(throws: CSVParser.Error.self) { _ = try rows("a\n\"open") }
        #expect(throws: CSVParser.Error.self) { _ = try rows("a\nb\"c\n") }
        #expect(throws: CSVParser.Error.self) { _ = try rows("a\n\"x\"y\n") }
        var parser = CSVParser()
        #expect(throws: CSVParser.Error.self) { _ = try parser.feed([0x61, 0xFF, 0x0A]) }
        // A cut multi-byte sequence and an overlong one are refused too; "é" and "🚀" are kept.
        for bad: [UInt8] in [[0x61, 0xC3, 0x0A], [0xC0, 0xAF, 0x0A], [0xF0, 0x9F, 0x9A, 0x0A]] {
            var parser = CSVParser()
            #expect(throws: CSVParser.Error.self) { _ = try parser.feed(bad) }
        }
        #expect((try? rows("h\né,🚀\n")) == [["h"], ["é", "🚀"]])
    }

    @Test func writerQuotesAndDefusesFormulas() {
        #expect(CSVWriter.line(["a", "b,c", "d\"e", "=SUM(A1)", "-5", "+44 20 7946 0000", "+SUM(A1)", "@x"])
                == "a,\"b,c\",\"d\"\"e\",'=SUM(A1),-5,+44 20 7946 0000,'+SUM(A1),'@x\r\n")
    }
}
