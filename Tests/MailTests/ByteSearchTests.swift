@testable import Mail
import Testing

@Suite struct ByteSearchTests {
    /// The byte search agrees with a plain one, at the ends, overlapping and past non-ASCII
    /// text, for strings and for substrings.
    @Test func containsBytesAgreesWithAPlainSearch() {
        let texts = ["", "=", "=?", "a=?b", "ab=", "=?utf-8?", "é=?", "Ada  Lovelace", "Ada Lovelace", "x@y", "@", "nothing"]
        let needles = ["=?", "  ", "@", "a", "é="]
        for text in texts {
            for needle in needles {
                let plain = text.utf8.count >= needle.utf8.count && (0...(text.utf8.count - needle.utf8.count)).contains { start in
                    Array(text.utf8)[start..<start + needle.utf8.count].elementsEqual(needle.utf8)
                }
                #expect(text.containsBytes(needle) == plain, "\(needle) in \(text)")
                #expect(("<" + text + ">").dropFirst().dropLast().containsBytes(needle) == plain, "\(needle) in \(text), a substring")
            }
        }
    }
}
