import Foundation
import HeraldCore
import MultipartKit
import NIOCore

/// Pulls the first file out of a `multipart/form-data` body as it streams by (RFC 7578),
/// and keeps the small text fields before it (the form's `_csrf`, checked before a byte of
/// the file is stored). The parsing is multipart-kit's streaming `MultipartParser`; this type
/// decides what to keep: the first part with a file name, fields up to a size, and nothing
/// unbounded.
final class MultipartFileReader {
    static let maxFieldBytes = 4096
    static let maxFields = 32
    /// Bytes the parser may take without handing out a header or a body byte (a part's
    /// headers, the preamble): more is no form a browser sends.
    static let maxQuietBytes = 16 * 1024

    private(set) var sawFile = false
    private(set) var fileBytes = 0
    /// The text fields read so far; a value over ``maxFieldBytes`` is left out, not cut.
    private(set) var fields: [String: String] = [:]

    private let parser: MultipartParser
    /// The current part's headers, until its first body byte decides what it is.
    private var headers: [(name: String, value: String)] = []
    private var part = Part.undecided
    private var out: [UInt8] = []
    private var progressed = false
    private var quietBytes = 0

    private enum Part {
        case undecided
        case file
        case field(name: String, value: [UInt8])
        case skipped
    }

    init(boundary: String) {
        parser = MultipartParser(boundary: boundary)
        parser.onHeader = { [unowned self] name, value in
            headers.append((name, value))
            progressed = true
        }
        parser.onBody = { [unowned self] body in
            decide()
            progressed = true
            switch part {
            case .file:
                fileBytes += body.readableBytes
                out.append(contentsOf: body.readableBytesView)
            case .field(let name, var value) where value.count <= Self.maxFieldBytes:
                value.append(contentsOf: body.readableBytesView.prefix(Self.maxFieldBytes + 1 - value.count))
                part = .field(name: name, value: value)
            default:
                break
            }
        }
        parser.onPartComplete = { [unowned self] in
            decide()
            progressed = true
            if case .field(let name, let value) = part, value.count <= Self.maxFieldBytes {
                fields[name] = String(decoding: value, as: UTF8.self)
            }
            headers = []
            part = .undecided
        }
    }

    /// The boundary parameter of a `multipart/form-data` Content-Type (1–70 characters).
    static func boundary(fromContentType type: String) -> String? {
        for piece in type.split(separator: ";") {
            let kv = piece.trimmingCharacters(in: .whitespaces)
            if kv.lowercased().hasPrefix("boundary=") {
                var value = String(kv.dropFirst("boundary=".count))
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value.isEmpty || value.count > 70 ? nil : value
            }
        }
        return nil
    }

    /// Feeds the next bytes of the body; returns the bytes of the file part they complete.
    func feed(_ bytes: some Collection<UInt8>) throws -> [UInt8] {
        progressed = false
        do {
            try parser.execute(ByteBuffer(bytes: bytes))
        } catch {
            throw HeraldError(.malformed, "the upload is not a well-formed multipart/form-data body")
        }
        quietBytes = progressed ? 0 : quietBytes + bytes.count
        if quietBytes > Self.maxQuietBytes {
            throw HeraldError(.malformed, "a part of the upload has over-long headers")
        }
        defer { out = [] }
        return out
    }

    /// What the current part is, from its headers: the first part with a file name is the
    /// file; a named part before the limit is a field; anything else is read past.
    private func decide() {
        guard case .undecided = part else { return }
        let disposition = headers.last { $0.name.lowercased() == "content-disposition" }?.value ?? ""
        let hasFileName = disposition.lowercased().contains("filename=")
        if !sawFile, hasFileName {
            sawFile = true
            part = .file
        } else if !hasFileName, fields.count < Self.maxFields,
                  let name = disposition.firstMatch(of: /(?i)\bname="([^"]*)"/)?.1 {
            part = .field(name: String(name), value: [])
        } else {
            part = .skipped
        }
    }
}
