import Foundation
import Hummingbird
import HeraldCore
import HeraldStore
import NIOPosix

/// Pulls the first file out of a `multipart/form-data` body as it streams by (RFC 7578),
/// keeping only a delimiter's length of bytes between chunks, and keeps the small text fields
/// before it (the form's `_csrf`, checked before a byte of the file is stored).
struct MultipartFileReader {
    enum State { case preamble, headers, body(isFile: Bool), done }

    let delimiter: [UInt8]
    var state = State.preamble
    var buffer: [UInt8]
    private(set) var sawFile = false
    private(set) var fileBytes = 0
    /// The text fields read so far; a value over ``maxFieldBytes`` is left out, not cut.
    private(set) var fields: [String: String] = [:]
    private var field: (name: String, value: [UInt8])?

    static let maxFieldBytes = 4096
    static let maxFields = 32

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // RFC 2046 §5.1.1: the first delimiter may start the body without the CRLF before it.
        buffer = Array("\r\n".utf8)
    }

    static func boundary(fromContentType type: String) -> String? {
        for part in type.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces)
            if kv.lowercased().hasPrefix("boundary=") {
                var value = String(kv.dropFirst("boundary=".count))
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value.isEmpty || value.count > 70 ? nil : value
            }
        }
        return nil
    }

    /// Feeds the next bytes of the body; returns the bytes of the file part they complete.
    mutating func feed(_ bytes: [UInt8]) throws -> [UInt8] {
        buffer += bytes
        var out: [UInt8] = []
        while true {
            switch state {
            case .done:
                buffer.removeAll()
                return out
            case .preamble:
                guard let at = MultipartFileReader.find(delimiter, in: buffer) else {
                    buffer.removeFirst(max(0, buffer.count - delimiter.count))
                    return out
                }
                guard buffer.count >= at + delimiter.count + 2 else { return out }
                let after = Array(buffer[(at + delimiter.count)..<(at + delimiter.count + 2)])
                buffer.removeFirst(at + delimiter.count + 2)
                state = after == Array("--".utf8) ? .done : .headers
            case .headers:
                guard let end = MultipartFileReader.find(Array("\r\n\r\n".utf8), in: buffer) else {
                    if buffer.count > 16 * 1024 { throw HeraldError(.malformed, "a part of the upload has over-long headers") }
                    return out
                }
                let raw = String(decoding: buffer[..<end], as: UTF8.self)
                let headers = raw.lowercased()
                buffer.removeFirst(end + 4)
                let isFile = !sawFile && headers.contains("filename=")
                if isFile { sawFile = true }
                field = nil
                if !headers.contains("filename="), fields.count < MultipartFileReader.maxFields,
                   let name = raw.firstMatch(of: /(?i)\bname="([^"]*)"/)?.1 {
                    field = (String(name), [])
                }
                state = .body(isFile: isFile)
            case .body(let isFile):
                let found = MultipartFileReader.find(delimiter, in: buffer)
                let ready = found ?? max(0, buffer.count - (delimiter.count - 1))
                if isFile { out += buffer[..<ready]; fileBytes += ready }
                if var f = field {
                    f.value += buffer[..<min(ready, MultipartFileReader.maxFieldBytes + 1 - min(f.value.count, MultipartFileReader.maxFieldBytes + 1))]
                    field = f
                }
                buffer.removeFirst(ready)
                guard found != nil else { return out }
                if let f = field, f.value.count <= MultipartFileReader.maxFieldBytes {
                    fields[f.name] = String(decoding: f.value, as: UTF8.self)
                }
                field = nil
                state = .preamble
            }
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
