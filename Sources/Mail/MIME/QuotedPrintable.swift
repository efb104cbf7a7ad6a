/// RFC 2045 §6.7 quoted-printable, for text parts.
enum QuotedPrintable {
    /// Encodes text whose lines end in LF or CRLF; output lines end in CRLF and are at
    /// most 76 characters, soft breaks (`=`) included (rule 5).
    static func encode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        encode(text, into: &out)
        return out
    }

    /// The most bytes `count` bytes of text can take encoded: every byte "=XX", with a soft
    /// break every 25 of them.
    static func maximumEncodedCount(_ count: Int) -> Int {
        count * 3 + (count / 25 + 1) * 3 + 2
    }

    /// Appends the encoding of `text` to `out`.
    static func encode(_ text: String, into out: inout [UInt8]) {
        var text = text
        text.withUTF8 { encode($0, into: &out) }
    }

    /// One pass straight into the output: it runs for both parts of every message of a mass
    /// email, so it neither splits lines into arrays nor grows its buffer, and a printable
    /// character with room on its line (nearly every byte of a message) costs one test.
    static func encode(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        guard let bytes = input.baseAddress, !input.isEmpty else { return }
        let count = input.count
        let capacity = maximumEncodedCount(count)
        let start = output.count
        output.reserveCapacity(start + capacity)
        output.append(contentsOf: repeatElement(0, count: capacity))
        let written = output.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress! + start
            var o = 0
            var column = 0
            var i = 0
            while i < count {
                // Eight bytes at a time while all stand for themselves and fit on the line
                // (most of a message): the same output as the byte-by-byte rules below. The
                // chunk's last byte must not be a space, which might end its line (rule 3),
                // and the line has room for all eight with the soft break still after them.
                while column <= 67 && i + 8 < count {
                    let word = UnsafeRawPointer(bytes + i).loadUnaligned(as: UInt64.self)
                    guard SWAR.allPrintableOrSpaceExceptEquals(word), bytes[i + 7] != 32 else { break }
                    UnsafeMutableRawPointer(out + o).storeBytes(of: word, as: UInt64.self)
                    o += 8
                    i += 8
                    column += 8
                }
                let byte = bytes[i]
                // Rules 1 and 2: printable ASCII except "=" stands for itself; so does a space
                // that does not end its line (rule 3), about one byte in six of a text.
                if column < 75 && ((byte &- 33 < 94 && byte != 61)
                                   || (byte == 32 && i + 1 < count && bytes[i + 1] != 10 && bytes[i + 1] != 13)) {
                    out[o] = byte
                    o += 1
                    column += 1
                    i += 1
                    continue
                }
                let next: UInt8 = i + 1 < count ? bytes[i + 1] : 10
                // A line ends at LF, at CRLF, or at a CR that ends the text (dropped, like the
                // CR of CRLF); rule 5: a hard break is CRLF, and a final LF adds no empty line.
                if byte == 10 || (byte == 13 && (next == 10 || i + 1 == count)) {
                    if byte == 13 { i += 1 }
                    if i < count {
                        out[o] = 13
                        out[o + 1] = 10
                        o += 2
                        i += 1
                    }
                    column = 0
                    continue
                }
                let isLast = next == 10 || (next == 13 && (i + 2 == count || bytes[i + 2] == 10))
                // Rule 3: a space or tab at the end of a line is encoded so that it survives transport.
                let literal = (byte &- 33 < 94 && byte != 61) || ((byte == 32 || byte == 9) && !isLast)
                let width = literal ? 1 : 3
                // Leave room for the soft break "=" unless this is the last piece of the line.
                if column + width > (isLast ? 76 : 75) {
                    out[o] = 61
                    out[o + 1] = 13
                    out[o + 2] = 10
                    o += 3
                    column = 0
                }
                if literal {
                    out[o] = byte
                    o += 1
                } else {
                    let high = byte >> 4, low = byte & 15
                    out[o] = 61
                    out[o + 1] = high < 10 ? 48 + high : 55 + high
                    out[o + 2] = low < 10 ? 48 + low : 55 + low
                    o += 3
                }
                column += width
                i += 1
            }
            return o
        }
        output.removeLast(capacity - written)
    }
}

extension QuotedPrintable {
    /// RFC 2045 §6.7, leniently: a soft break (`=` at the end of a line) joins lines, `=XX`
    /// is the byte, and an `=` not followed by two hex digits is kept as it is.
    static func decode(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 65...70: byte - 55
            case 97...102: byte - 87
            default: nil
            }
        }
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "=") else {
                out.append(byte)
                index += 1
                continue
            }
            var next = index + 1
            // Soft line break, possibly with trailing white space before it (rule 3).
            while next < bytes.endIndex, bytes[next] == 32 || bytes[next] == 9 { next += 1 }
            if next < bytes.endIndex, bytes[next] == 13 || bytes[next] == 10 {
                if bytes[next] == 13 { next += 1 }
                if next < bytes.endIndex, bytes[next] == 10 { next += 1 }
                index = next
                continue
            }
            if next == bytes.endIndex {
                index = next
                continue
            }
            if index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }
}
