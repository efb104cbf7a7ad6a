/// RFC 4648 base64, with optional line wrapping for MIME (RFC 2045 §6.8: at most 76
/// characters a line). Written here so that the MIME, AUTH and DKIM code share one
/// allocation-light encoder that does not depend on Foundation.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: encodeBytes(bytes, lineLength: nil), as: UTF8.self)
    }

    /// Encodes `bytes`, breaking lines with CRLF every `lineLength` characters when given.
    static func encodeBytes(_ bytes: some Collection<UInt8>, lineLength: Int?) -> [UInt8] {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4 + (lineLength.map { input.count / $0 * 2 + 2 } ?? 0))
        var column = 0
        func emit(_ byte: UInt8) {
            if let lineLength, column == lineLength {
                out.append(13)
                out.append(10)
                column = 0
            }
            out.append(byte)
            column += 1
        }
        var index = 0
        while index + 3 <= input.count {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            emit(alphabet[Int(value >> 18 & 63)])
            emit(alphabet[Int(value >> 12 & 63)])
            emit(alphabet[Int(value >> 6 & 63)])
            emit(alphabet[Int(value & 63)])
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let value = UInt32(input[index]) << 16
            emit(alphabet[Int(value >> 18 & 63)])
            emit(alphabet[Int(value >> 12 & 63)])
            emit(UInt8(ascii: "="))
            emit(UInt8(ascii: "="))
        } else if rest == 2 {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            emit(alphabet[Int(value >> 18 & 63)])
            emit(alphabet[Int(value >> 12 & 63)])
            emit(alphabet[Int(value >> 6 & 63)])
            emit(UInt8(ascii: "="))
        }
        return out
    }

    /// Decodes base64, ignoring whitespace; nil when the input is not base64.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - 71)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte + 4)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="): padding += 1
            case 9, 10, 13, 32: continue
            default: return nil
            }
            if padding > 0 && byte != UInt8(ascii: "=") { return nil }
        }
        guard (values.count + padding) % 4 == 0, padding <= 2 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index + 4 <= values.count {
            let v = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6 | UInt32(values[index + 3])
            out += [UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
            index += 4
        }
        let rest = values.count - index
        if rest == 2 {
            let v = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12
            out.append(UInt8(v >> 16 & 255))
        } else if rest == 3 {
            let v = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6
            out += [UInt8(v >> 16 & 255), UInt8(v >> 8 & 255)]
        } else if rest != 0 {
            return nil
        }
        return out
    }
}
