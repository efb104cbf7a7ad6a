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
    }

    @Test func writerQuotesAndDefusesFormulas() {
        #expect(CSVWriter.line(["a", "b,c", "d\"e", "=SUM(A1)", "-5", "+44 20 7946 0000", "+SUM(A1)", "@x"])
                == "a,\"b,c\",\"d\"\"e\",'=SUM(A1),-5,+44 20 7946 0000,'+SUM(A1),'@x\r\n")
    }
}
