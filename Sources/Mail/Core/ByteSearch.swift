/// Searching lower-cased bytes, in time linear in the text for a given needle.
enum ByteSearch {
    /// The first index at or after `from` where `needle` occurs before `to`; with `wordStart`,
    /// only where the byte before is no letter or digit.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, to: Int? = nil, wordStart: Bool = false) -> Int? {
        haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in find(pin, in: hay, from: from, to: to ?? hay.count, wordStart: wordStart) }
        }
    }

    /// ``find(_:in:from:to:wordStart:)`` over bytes already in memory, without copying them.
    static func find(_ pin: UnsafeBufferPointer<UInt8>, in hay: UnsafeBufferPointer<UInt8>, from: Int, to end: Int,
                     wordStart: Bool = false) -> Int? {
        guard let head = pin.first, from >= 0, end - from >= pin.count else { return nil }
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

    static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57) || byte >= 0x80
    }
}

/// Many lower-case phrases in groups, searched in one pass over the text: every position is
/// looked up by its first two bytes, so a classification costs a few comparisons a byte
/// rather than one pass a phrase.
///
/// In a phrase, `*` stands for up to 60 bytes of anything (`mailbox*full`), and a phrase that
/// starts with an ASCII letter or digit matches only at the start of a word, so that `moved`
/// does not match `removed` (CJK phrases match anywhere).
struct PhraseTable: Sendable {
    private struct Entry: Sendable {
        let group: Int
        let pieces: [[UInt8]]
        let wordStart: Bool
    }

    private let entries: [Entry]
    /// Entries whose first piece starts with the two bytes `key`: `items[start[key]..<start[key + 1]]`.
    private let start: [Int32]
    private let items: [Int32]

    /// `groups` in priority order: a match in an earlier group beats any in a later one.
    init(_ groups: [[String]]) {
        var entries: [Entry] = []
        for (group, phrases) in groups.enumerated() {
            for phrase in phrases {
                let pieces = phrase.utf8.split(separator: UInt8(ascii: "*")).map(Array.init)
                // Every phrase has at least two bytes before its first "*".
                guard let first = pieces.first, first.count >= 2 else { preconditionFailure("phrase too short: \(phrase)") }
                entries.append(Entry(group: group, pieces: pieces, wordStart: ByteSearch.isWordByte(first[0]) && first[0] < 0x80))
            }
        }
        var buckets = [[Int32]](repeating: [], count: 65536)
        for (index, entry) in entries.enumerated() {
            buckets[Int(entry.pieces[0][0]) << 8 | Int(entry.pieces[0][1])].append(Int32(index))
        }
        var start: [Int32] = [0]
        start.reserveCapacity(65537)
        var items: [Int32] = []
        for bucket in buckets {
            items += bucket
            start.append(Int32(items.count))
        }
        self.entries = entries
        self.start = start
        self.items = items
    }

    /// The earliest group with a phrase in `text`, nil when none has one.
    func firstGroup(in text: [UInt8]) -> Int? {
        guard text.count >= 2 else { return nil }
        var best = Int.max
        text.withUnsafeBufferPointer { bytes in
            for position in 0..<(bytes.count - 1) {
                let key = Int(bytes[position]) << 8 | Int(bytes[position + 1])
                let from = Int(start[key]), to = Int(start[key + 1])
                guard from < to else { continue }
                for item in items[from..<to] {
                    let entry = entries[Int(item)]
                    guard entry.group < best, matches(entry, at: position, in: bytes) else { continue }
                    best = entry.group
                }
                if best == 0 { return }
            }
        }
        return best == Int.max ? nil : best
    }

    private func matches(_ entry: Entry, at position: Int, in text: UnsafeBufferPointer<UInt8>) -> Bool {
        if entry.wordStart, position > 0, ByteSearch.isWordByte(text[position - 1]) { return false }
        let first = entry.pieces[0]
        guard position + first.count <= text.count else { return false }
        for offset in 2..<max(2, first.count) where text[position + offset] != first[offset] { return false }
        var end = position + first.count
        for piece in entry.pieces.dropFirst() {
            let limit = min(text.count, end + 60 + piece.count)
            var found: Int?
            var cursor = end
            while cursor + piece.count <= limit {
                var offset = 0
                while offset < piece.count && text[cursor + offset] == piece[offset] { offset += 1 }
                if offset == piece.count { found = cursor; break }
                cursor += 1
            }
            guard let found else { return false }
            end = found + piece.count
        }
        return true
    }
}
