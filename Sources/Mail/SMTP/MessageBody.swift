import NIOCore

/// A message ready for the DATA phase: line endings normalised and dot-stuffed, ending
/// with `CRLF.CRLF`. Prepared once per message, whatever connection then carries it.
public struct MessageBody: Sendable, Hashable {
    /// The bytes to write after the 354 reply, terminator included.
    public let bytes: ByteBuffer
    /// Size of the message itself, for RFC 1870 `SIZE=`.
    public let messageSize: Int
    /// Whether any byte has the high bit set, which needs RFC 6152 `BODY=8BITMIME`.
    public let hasEightBitData: Bool

    /// Prepares `message` for transmission.
    ///
    /// RFC 5321 §2.3.8: lines end in CRLF, so a bare LF or bare CR becomes CRLF.
    /// RFC 5321 §4.5.2: a line that starts with "." gets another "." in front.
    /// RFC 5321 §4.1.1.4: the data ends with CRLF "." CRLF.
    public init(message: some Collection<UInt8>) {
        if let prepared = message.withContiguousStorageIfAvailable({ Self.prepare($0) }) {
            (bytes, messageSize, hasEightBitData) = prepared
        } else {
            (bytes, messageSize, hasEightBitData) = Array(message).withUnsafeBufferPointer { Self.prepare($0) }
        }
    }

    /// Writes the transmittable form straight into the buffer that goes on the wire: the
    /// message bytes are copied once, run by run (this loop is the hot path of a mass send).
    private static func prepare(_ bytes: UnsafeBufferPointer<UInt8>) -> (ByteBuffer, size: Int, eightBit: Bool) {
        let count = bytes.count
        // Room for the worst case, every byte a bare LF (each becomes CRLF), plus CRLF.CRLF;
        // the buffer is short-lived, one per message in flight.
        let capacity = count * 2 + 5
        var buffer = ByteBuffer()
        var stuffedDots = 0
        var size = 0
        var high: UInt8 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { raw in
            let out = raw.bindMemory(to: UInt8.self)
            var written = 0
            var index = 0
            var atLineStart = true
            while index < count {
                if atLineStart && bytes[index] == UInt8(ascii: ".") {
                    out[written] = UInt8(ascii: ".")
                    written += 1
                    stuffedDots += 1
                }
                var end = index
                // Eight bytes at a time up to the chunk with the line's end.
                var highWord: UInt64 = 0
                while end + 8 <= count {
                    let word = UnsafeRawPointer(bytes.baseAddress! + end).loadUnaligned(as: UInt64.self)
                    if SWAR.hasByte(10, in: word) || SWAR.hasByte(13, in: word) { break }
                    highWord |= word
                    end += 8
                }
                if highWord & SWAR.highBits != 0 { high = 0x80 }
                while end < count, bytes[end] != 10, bytes[end] != 13 {
                    high |= bytes[end]
                    end += 1
                }
                if end > index {
                    UnsafeMutableRawBufferPointer(rebasing: raw[written..<written + end - index])
                        .copyMemory(from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[index..<end])))
                    written += end - index
                }
                guard end < count else {
                    atLineStart = false
                    break
                }
                out[written] = 13
                out[written + 1] = 10
                written += 2
                index = bytes[end] == 13 && end + 1 < count && bytes[end + 1] == 10 ? end + 2 : end + 1
                atLineStart = true
            }
            if !atLineStart {
                out[written] = 13
                out[written + 1] = 10
                written += 2
            }
            size = written - stuffedDots
            out[written] = UInt8(ascii: ".")
            out[written + 1] = 13
            out[written + 2] = 10
            return written + 3
        }
        return (buffer, size, high >= 0x80)
    }
}
