#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes each message as one `.eml` file into an outbox folder instead of sending it,
/// so that a new user sees what would have gone out.
///
/// The envelope is recorded on top as `Return-Path:` (the RFC 5321 §4.4 trace field) and
/// `X-Envelope-To:`; a DKIM signature below them still verifies. Every file is written
/// to a hidden temporary name, flushed, then renamed: a reader never sees half a message.
public struct FileTransport: Transport {
    /// The outbox folder; created when missing.
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func send(_ envelope: Envelope, message: [UInt8]) async throws(MailError) -> DeliveryResult {
        let name = try write(envelope, message: message)
        let reply = SMTPReply(code: 250, lines: ["written to \(name)"])
        return DeliveryResult(recipients: envelope.recipients.map { RecipientResult(recipient: $0, status: .accepted, reply: reply) })
    }

    /// Writes the message and returns the file's name inside ``directory``.
    @discardableResult
    public func write(_ envelope: Envelope, message: [UInt8]) throws(MailError) -> String {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw MailError(.fileWriteFailed, "outbox \(directory) could not be created: \(error.localizedDescription)")
        }
        var bytes = Array("Return-Path: <\(envelope.returnPath)>\r\nX-Envelope-To: \(envelope.recipients.joined(separator: ", "))\r\n".utf8)
        bytes += message
        // Named after the Message-ID when there is one, so that writing the same message again
        // (a retry after a crash) replaces its file instead of adding a second copy.
        let name = (Self.messageID(in: message).map(Self.fileName) ?? "\(Int(Date().timeIntervalSince1970 * 1000))-\(UUID().uuidString.lowercased())") + ".eml"
        let temporary = "\(directory)/.\(name).tmp"
        let final = "\(directory)/\(name)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw MailError(.fileWriteFailed, "outbox \(directory): cannot create a file (errno \(errno))")
        }
        var written = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temporary, final) == 0 else {
            unlink(temporary)
            throw MailError(.fileWriteFailed, "outbox \(directory): writing \(name) failed (errno \(errno))")
        }
        return name
    }

    /// The Message-ID of an RFC 5322 message (without angle brackets), from its header.
    static func messageID(in message: [UInt8]) -> String? {
        var lineStart = 0
        var index = 0
        while index + 1 < message.count {
            guard message[index] == 13, message[index + 1] == 10 else { index += 1; continue }
            if index == lineStart { return nil }  // the blank line: end of the header
            let line = String(decoding: message[lineStart..<index], as: UTF8.self)
            if line.lowercased().hasPrefix("message-id:") {
                let value = line.dropFirst("message-id:".count).trimmingCharacters(in: .whitespaces)
                let bare = value.trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
                return bare.isEmpty ? nil : bare
            }
            index += 2
            lineStart = index
        }
        return nil
    }

    /// A Message-ID as a safe file name: letters, digits and `.-_@+=` kept, the rest as `_`.
    static func fileName(_ messageID: String) -> String {
        String(messageID.prefix(200).map { $0.isASCII && ($0.isLetter || $0.isNumber || ".-_@+=".contains($0)) ? $0 : "_" })
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Musl)
private let systemWrite = Musl.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
