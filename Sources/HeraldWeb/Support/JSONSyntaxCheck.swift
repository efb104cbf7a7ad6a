/// What Foundation's JSON reader lets through and a strict API must not: a key twice in one
/// object (the reader keeps one of them, so `{"role":"admin","role":"user"}` means whichever
/// it kept), text that is not UTF-8, an escaped half of a surrogate pair, and numbers no
/// Double holds (`1e400`). One pass over the bytes, before decoding; the decoder still
/// judges the rest of the syntax.
enum JSONSyntaxCheck {
    /// Why `bytes` is not acceptable JSON, or nil.
    static func problem(_ bytes: [UInt8]) -> String? {
        guard String(validating: bytes, as: UTF8.self) != nil else { return "the body is not UTF-8" }
        // For each open object, the keys seen so far; nil for an array.
        var stack: [Set<String>?] = []
        var expectingKey = false
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"):
                stack.append([])
                expectingKey = true
                i += 1
            case UInt8(ascii: "["):
                stack.append(nil)
                expectingKey = false
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                expectingKey = false
                i += 1
            case UInt8(ascii: ","):
                expectingKey = stack.last.map { $0 != nil } ?? false
                i += 1
            case UInt8(ascii: "\""):
                guard let (text, end) = string(bytes, from: i) else { return "a string has a lone surrogate escape or does not end" }
                if expectingKey, var keys = stack.popLast() ?? nil {
                    if !keys.insert(text).inserted { return "the key '\(text.prefix(100))' appears twice in one object" }
                    stack.append(keys)
                    expectingKey = false
                }
                i = end
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                var end = i
                while end < bytes.count, isNumberByte(bytes[end]) { end += 1 }
                let token = String(decoding: bytes[i..<end], as: UTF8.self)
                if let value = Double(token), !value.isFinite { return "the number \(token.prefix(40)) is too large" }
                i = end
            default:
                i += 1
            }
        }
        return nil
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
    }

    /// The string starting at the quote at `start`, escapes decoded, and the index after its
    /// closing quote; nil when it does not end or holds half a surrogate pair.
    private static func string(_ bytes: [UInt8], from start: Int) -> (String, Int)? {
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        var i = start + 1
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll(keepingCapacity: true)
        }
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            return UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16)
        }
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                flush()
                return (String(scalars), i + 1)
            }
            guard byte == UInt8(ascii: "\\"), i + 1 < bytes.count else {
                raw.append(byte)
                i += 1
                continue
            }
            let escaped = bytes[i + 1]
            guard escaped == UInt8(ascii: "u") else {
                switch escaped {
                case UInt8(ascii: "n"): raw.append(10)
                case UInt8(ascii: "t"): raw.append(9)
                case UInt8(ascii: "r"): raw.append(13)
                case UInt8(ascii: "b"): raw.append(8)
                case UInt8(ascii: "f"): raw.append(12)
                default: raw.append(escaped)
                }
                i += 2
                continue
            }
            guard let unit = hex4(i + 2) else { return nil }
            var scalar = unit
            i += 6
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by an escaped low one.
                guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
                      let low = hex4(i + 2), (0xDC00...0xDFFF).contains(low) else { return nil }
                scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                i += 6
            } else if (0xDC00...0xDFFF).contains(unit) {
                return nil
            }
            flush()
            guard let value = Unicode.Scalar(scalar) else { return nil }
            scalars.append(value)
        }
        return nil
    }
}
