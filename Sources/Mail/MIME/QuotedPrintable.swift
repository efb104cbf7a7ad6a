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
            for (offset, byte) in zip(line.indices, line) {
                let isLast = offset == line.index(before: line.endIndex)
                var piece: [UInt8]
                // Rule 1 and 2: printable ASCII except "=" as itself; rule 3: a space or
                // tab at the end of a line is encoded so that it survives transport.
                if (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !isLast) {
                    piece = [byte]
                } else {
                    piece = [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                }
                // Leave room for the soft break "=" unless this is the last piece.
                let limit = isLast ? 76 : 75
                if column + piece.count > limit {
                    out += [UInt8(ascii: "="), 13, 10]
                    column = 0
                }
                out += piece
                column += piece.count
            }
            if number < lines.count - 1 || bytes.last == UInt8(ascii: "\n") { out += [13, 10] }
        }
        return out
    }
}
