/// RFC 2045 §6.7 quoted-printable, for text parts.
enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Encodes text whose lines end in LF or CRLF; output lines end in CRLF and are at
    /// most 76 characters, soft breaks (`=`) included (rule 5).
    static func encode(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { encode($0) }
    }

    /// One pass straight into the output: it runs for both parts of every message of a
    /// mass email, so it neither splits lines into arrays nor grows its buffer.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let count = bytes.count
        // Worst case: every byte "=XX", a soft break every 25 bytes, CRLF for each LF.
        let capacity = count * 3 + (count / 25 + 1) * 3 + count + 2
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, written in
            var o = 0
            var column = 0
            var i = 0
            // A line ends at LF, at CRLF, or at a CR that ends the text (dropped, like the CR of CRLF).
            func endsLine(_ j: Int) -> Bool {
                j == count || bytes[j] == 10 || (bytes[j] == 13 && (j + 1 == count || bytes[j + 1] == 10))
            }
            while i < count {
                let byte = bytes[i]
                if endsLine(i) {
                    if byte == 13 { i += 1 }
                    // Rule 5: a hard line break is CRLF; a final LF ends the text without an empty line after it.
                    if i < count { out[o] = 13; out[o + 1] = 10; o += 2; i += 1 }
                    column = 0
                    continue
                }
                let isLast = endsLine(i + 1)
                // Rules 1 and 2: printable ASCII except "=" as itself; rule 3: a space or
                // tab at the end of a line is encoded so that it survives transport.
                let literal = (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !isLast)
                let width = literal ? 1 : 3
                // Leave room for the soft break "=" unless this is the last piece of the line.
                if column + width > (isLast ? 76 : 75) {
                    out[o] = 61; out[o + 1] = 13; out[o + 2] = 10; o += 3
                    column = 0
                }
                if literal {
                    out[o] = byte
                    o += 1
                } else {
                    out[o] = 61
                    out[o + 1] = hex[Int(byte >> 4)]
                    out[o + 2] = hex[Int(byte & 15)]
                    o += 3
                }
                column += width
                i += 1
            }
            written = o
        }
    }
}
