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
        var out = ByteBuffer()
        out.reserveCapacity(message.count + message.count / 64 + 8)
        var atLineStart = true
        var previousWasCR = false
        var eightBit = false
        var size = 0
        for byte in message {
            if byte >= 0x80 { eightBit = true }
            switch byte {
            case UInt8(ascii: "\n"):
                if !previousWasCR { out.writeInteger(UInt8(ascii: "\r")) }
                out.writeInteger(byte)
                size += previousWasCR ? 1 : 2
                atLineStart = true
                previousWasCR = false
                continue
            case UInt8(ascii: "\r"):
                if previousWasCR {
                    // A bare CR ends a line too.
                    out.writeInteger(UInt8(ascii: "\n"))
                    size += 1
                }
                out.writeInteger(byte)
                size += 1
                previousWasCR = true
                atLineStart = false
                continue
            default:
                if previousWasCR {
                    out.writeInteger(UInt8(ascii: "\n"))
                    size += 1
                    atLineStart = true
                }
                if atLineStart && byte == UInt8(ascii: ".") {
                    out.writeInteger(UInt8(ascii: "."))
                }
                out.writeInteger(byte)
                size += 1
                atLineStart = false
                previousWasCR = false
            }
        }
        if previousWasCR {
            out.writeInteger(UInt8(ascii: "\n"))
            size += 1
        } else if !atLineStart {
            out.writeString("\r\n")
            size += 2
        }
        out.writeString(".\r\n")
        self.bytes = out
        self.messageSize = size
        self.hasEightBitData = eightBit
    }
}
