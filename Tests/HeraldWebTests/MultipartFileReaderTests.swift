import Testing
@testable import HeraldWeb

/// The upload reader is a pure state machine: fed a multipart body in chunks of any size,
/// it must hand out exactly the bytes of the first file part.
@Suite struct MultipartFileReaderTests {
    static let boundary = "----HeraldBoundary7MA4YWxk"

    static func body(file: String, filename: String = "people.csv") -> [UInt8] {
        let b = boundary
        let text = "--\(b)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nnot the file\r\n"
            + "--\(b)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: text/csv\r\n\r\n"
            + file + "\r\n--\(b)--\r\n"
        return Array(text.utf8)
    }

    static func read(_ body: [UInt8], chunk: Int) throws -> (bytes: [UInt8], sawFile: Bool) {
        let reader = MultipartFileReader(boundary: boundary)
        var out: [UInt8] = []
        var i = 0
        while i < body.count {
            out += try reader.feed(Array(body[i..<min(i + chunk, body.count)]))
            i += chunk
        }
        return (out, reader.sawFile)
    }

    @Test(arguments: [1, 2, 3, 7, 31, 64, 1000, 100_000])
    func extractsTheFileWhateverTheChunkSize(chunk: Int) throws {
        // CR, LF and dashes inside the file must not be mistaken for a delimiter.
        let file = "Email,Name\r\na@example.org,\"Ann\r\n--not a boundary\"\r\n--\(Self.boundary.dropLast())x\r\n"
        let (bytes, sawFile) = try Self.read(Self.body(file: file), chunk: chunk)
        #expect(sawFile)
        #expect(String(decoding: bytes, as: UTF8.self) == file)
    }

    @Test func aFormWithoutAFileYieldsNothing() throws {
        let b = Self.boundary
        let body = Array("--\(b)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--\(b)--\r\n".utf8)
        let (bytes, sawFile) = try Self.read(body, chunk: 5)
        #expect(!sawFile)
        #expect(bytes.isEmpty)
    }

    @Test(arguments: [1, 3, 17, 1000])
    func keepsTheSmallFieldsBeforeTheFile(chunk: Int) throws {
        let b = Self.boundary
        let long = String(repeating: "x", count: MultipartFileReader.maxFieldBytes + 1)
        let body = Array(("--\(b)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok-123\r\n"
            + "--\(b)\r\nContent-Disposition: form-data; name=\"long\"\r\n\r\n\(long)\r\n").utf8) + Self.body(file: "a,b\r\n")
        let reader = MultipartFileReader(boundary: b)
        var i = 0
        var fieldsWhenTheFileBegan: [String: String]?
        while i < body.count {
            let out = try reader.feed(Array(body[i..<min(i + chunk, body.count)]))
            if !out.isEmpty, fieldsWhenTheFileBegan == nil { fieldsWhenTheFileBegan = reader.fields }
            i += chunk
        }
        #expect(fieldsWhenTheFileBegan?["_csrf"] == "tok-123", "the token is known before a byte of the file is handed out")
        #expect(reader.fields["long"] == nil, "an over-long value is left out, not cut")
        #expect(reader.fields["note"] == "not the file")
    }

    @Test func readsTheBoundaryFromTheContentType() {
        #expect(MultipartFileReader.boundary(fromContentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartFileReader.boundary(fromContentType: "multipart/form-data; boundary=\"a b\"") == "a b")
        #expect(MultipartFileReader.boundary(fromContentType: "multipart/form-data") == nil)
    }

    @Test func refusesOverlongPartHeaders() {
        let reader = MultipartFileReader(boundary: Self.boundary)
        let start = Array("--\(Self.boundary)\r\nX: ".utf8) + [UInt8](repeating: 65, count: 20_000)
        #expect(throws: (any Error).self) { _ = try reader.feed(start) }
    }
}
