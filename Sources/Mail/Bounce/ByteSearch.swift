/// Searching lower-cased bytes for phrases, in time linear in the text for a given phrase.
enum ByteSearch {
    /// Whether `phrase` occurs in `text`: `*` stands for up to 60 bytes of anything
    /// (`mailbox*full`), and a phrase that starts with an ASCII letter or digit matches only at
    /// the start of a word, so that `moved` does not match `removed`.
    static func matches(_ phrase: String, in text: [UInt8]) -> Bool {
        let pieces = phrase.utf8.split(separator: UInt8(ascii: "*")).map(Array.init)
        guard let first = pieces.first else { return false }
        // Only an ASCII letter or digit has a word start: CJK phrases stand anywhere.
        let wordStart = first.first.map { isWordByte($0) && $0 < 0x80 } ?? false
        var from = 0
        while let start = find(first, in: text, from: from, wordStart: wordStart) {
            var end = start + first.count
            var found = true
            for piece in pieces.dropFirst() {
                guard let next = find(piece, in: text, from: end, to: min(text.count, end + 60 + piece.count), wordStart: false) else {
                    found = false
                    break
                }
                end = next + piece.count
            }
            if found { return true }
            // Only the gap bound can fail a later piece: a later start may still succeed.
            from = start + 1
            if pieces.count == 1 { return false }
        }
        return false
    }

    /// The first index at or after `from` where `needle` occurs before `to`; with `wordStart`,
    /// only where the byte before is no letter or digit.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, to: Int? = nil, wordStart: Bool = false) -> Int? {
        let end = to ?? haystack.count
        guard let head = needle.first, from >= 0, end - from >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                var index = from
                let last = end - pin.count
                while index <= last {
                    if hay[index] == head {
                        var offset = 1
                        while offset < pin.count && hay[index + offset] == pin[offset] { offset += 1 }
                        if offset == pin.count && (!wordStart || index == 0 || !isWordByte(hay[index - 1])) { return index }
                    }
                    index += 1
                }
                return nil
            }
        }
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57) || byte >= 0x80
    }
}
