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
        let input = Array(message)
        var out: [UInt8] = []
        out.reserveCapacity(input.count + input.count / 32 + 8)
        var stuffedDots = 0
        var high: UInt8 = 0
        var atLineStart = true
        input.withUnsafeBufferPointer { bytes in
            let count = bytes.count
            var index = 0
            while index < count {
                if atLineStart && bytes[index] == UInt8(ascii: ".") {
                    out.append(UInt8(ascii: "."))
                    stuffedDots += 1
                }
                // Copy the run up to the next CR or LF in one go: this loop is the hot
                // path of a mass send.
                var end = index
                while end < count, bytes[end] != 10, bytes[end] != 13 {
                    high |= bytes[end]
                    end += 1
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                guard end < count else {
                    atLineStart = false
                    break
                }
                out.append(13)
                out.append(10)
                index = bytes[end] == 13 && end + 1 < count && bytes[end + 1] == 10 ? end + 2 : end + 1
                atLineStart = true
            }
        }
        if !atLineStart { out += [13, 10] }
        self.messageSize = out.count - stuffedDots
        out += [UInt8(ascii: "."), 13, 10]
        self.bytes = ByteBuffer(bytes: out)
        self.hasEightBitData = high >= 0x80
    }
}
