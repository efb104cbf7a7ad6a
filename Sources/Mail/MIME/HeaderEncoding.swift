/// Header field formatting: RFC 2047 encoded-words and RFC 5322 §2.2.3 folding.
enum HeaderEncoding {
    /// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters.
    static let lineLimit = 78
    /// Bytes of UTF-8 per encoded-word. RFC 2047 §2 allows 75 characters per word;
    /// `=?UTF-8?B?` + `?=` take 12, and 36 bytes encode to 48, so a word is 60 characters
    /// and still fits on a folded line after the longest field name we write.
    static let bytesPerEncodedWord = 36

    static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && isAtext(UInt8(scalar.value))
    }

    /// RFC 5322 §3.2.3 atext, for a byte: every message's headers are checked on bytes, as
    /// walking a String's scalars cost a mass email more than writing the headers.
    static func isAtext(_ byte: UInt8) -> Bool {
        byte < 128 && atext[Int(byte)]
    }

    private static let atext: [Bool] = (0..<128).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-/=?^_`{|}~".utf8).contains(UInt8(byte))
        }
    }

    /// RFC 5322 §2.2: a header body never contains CR or LF of its own; refusing them is
    /// what stops header injection.
    static func checkValue(_ value: String, field: String) throws(MailError) {
        if value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
            throw MailError(.invalidHeader, "\(field): CR, LF or NUL in a header value is refused (header injection)", context: ["header": field])
        }
    }

    /// RFC 5322 §3.6.8: printable ASCII except colon.
    static func checkName(_ name: String) throws(MailError) {
        guard !name.isEmpty, name.utf8.count <= 76, name.utf8.allSatisfy({ $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: ":") }) else {
            throw MailError(.invalidHeader, "header name '\(name.prefix(80))' is not printable ASCII without a colon", context: ["header": name])
        }
    }

    /// Splits `text` into B encoded-words, never cutting a UTF-8 sequence (RFC 2047 §5:
    /// each encoded-word must be self-contained).
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            // A grapheme longer than a word (rare emoji sequences) is split by scalars.
            let pieces: [[UInt8]] = bytes.count <= bytesPerEncodedWord ? [bytes] : character.unicodeScalars.map { Array(String($0).utf8) }
            for piece in pieces {
                if chunk.count + piece.count > bytesPerEncodedWord {
                    words.append("=?UTF-8?B?" + Base64.encode(chunk) + "?=")
                    chunk.removeAll(keepingCapacity: true)
                }
                chunk += piece
            }
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + Base64.encode(chunk) + "?=") }
        return words
    }

    /// Whether an unstructured value can go out as it is: printable ASCII, and no
    /// sequence that a reader would take for an encoded-word.
    static func isPlain(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 32 && $0 < 127 || $0 == 9 } && !value.containsBytes("=?")
    }

    /// Tokens of an unstructured value (Subject, custom headers): words when plain,
    /// encoded-words otherwise. Joined by single spaces when folded.
    static func unstructuredTokens(_ value: String) -> [String] {
        // RFC 5322 §2.1.1: a line may not pass 998 characters; a longer word is encoded.
        if isPlain(value) {
            let words = value.utf8.split(separator: 32, omittingEmptySubsequences: false)
            if !words.contains(where: { $0.count > 900 }) {
                // Keep the exact spacing when there is nothing to fold at; otherwise words.
                if words.contains(where: \.isEmpty) || value.utf8.contains(9) { return [value] }
                return words.map { String(Substring($0)) }
            }
        }
        return encodedWords(value)
    }

    /// An unstructured field (Subject, a custom header): `fold(name:tokens:)` of
    /// ``unstructuredTokens(_:)``, written at once when the value is plain and the line fits,
    /// which is what folding gives then (every message of a mass email has a Subject).
    static func unstructuredField(name: String, value: String) -> String {
        let length = name.utf8.count + 2 + value.utf8.count
        guard length <= lineLimit, isPlain(value) else { return fold(name: name, tokens: unstructuredTokens(value)) }
        var line = ""
        line.reserveCapacity(length + 2)
        line += name
        line += ": "
        line += value
        line += "\r\n"
        return line
    }

    /// `Name: tok tok …` folded before a token whenever the line would pass 78 columns.
    /// `separator` goes between tokens (", " for address lists).
    /// Tokens are ASCII (plain words or encoded-words), so a length is its UTF-8 count.
    static func fold(name: String, tokens: [String], separators: [String]? = nil) -> String {
        // Appended piece by piece into one string of the right size: every message of a mass
        // email folds several headers, and `a + b + c` made a string for each `+`.
        var out = ""
        out.reserveCapacity(name.utf8.count + tokens.reduce(4) { $0 + $1.utf8.count + 4 })
        out += name
        out += ":"
        var lineLength = out.utf8.count
        for (index, token) in tokens.enumerated() {
            let separator = index == 0 ? "" : (separators?[index - 1] ?? "")
            let length = separator.utf8.count + 1 + token.utf8.count
            if index > 0 && lineLength + length > lineLimit {
                out += separator.trimmingTrailingSpace
                out += "\r\n "
                lineLength = 1 + token.utf8.count
            } else {
                out += separator
                out += " "
                lineLength += length
            }
            out += token
        }
        out += "\r\n"
        return out
    }
}

extension String {
    fileprivate var trimmingTrailingSpace: String {
        var copy = self
        while copy.hasSuffix(" ") { copy.removeLast() }
        return copy
    }
}
