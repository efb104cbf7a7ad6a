/// RFC 2045 §6.7 quoted-printable, for text parts.
enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Encodes text whose lines end in LF or CRLF; output lines end in CRLF and are at
    /// most 76 characters, soft breaks (`=`) included (rule 5).
    static func encode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        out.reserveCapacity(bytes.count + bytes.count / 8)
        var lines: [ArraySlice<UInt8>] = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true && lines.count > 1 { lines.removeLast() }
        for (number, rawLine) in lines.enumerated() {
            var line = rawLine
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            var column = 0
            let lastIndex = line.endIndex - 1
            for offset in line.indices {
                let byte = line[offset]
                let isLast = offset == lastIndex
                // Rule 1 and 2: printable ASCII except "=" as itself; rule 3: a space or
                // tab at the end of a line is encoded so that it survives transport.
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !isLast)
                let width = literal ? 1 : 3
                // Leave room for the soft break "=" unless this is the last piece.
                let limit = isLast ? 76 : 75
                if column + width > limit {
                    out.append(UInt8(ascii: "="))
                    out.append(13)
                    out.append(10)
                    column = 0
                }
                if literal {
                    out.append(byte)
                } else {
                    out.append(UInt8(ascii: "="))
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 15)])
                }
                column += width
            }
            if number < lines.count - 1 || bytes.last == UInt8(ascii: "\n") { out.append(13); out.append(10) }
        }
        return out
    }
}
