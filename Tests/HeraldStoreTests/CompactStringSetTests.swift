@testable import HeraldStore
import Testing

/// The import's set of seen addresses must answer exactly as a set of byte strings does.
@Suite struct CompactStringSetTests {
    @Test func answersAsASetOfByteStrings() {
        var compact = CompactStringSet()
        var reference = Set<[UInt8]>()
        // Enough members for many doublings and for probes that wrap round the table's end;
        // every third insert repeats an earlier member, some differ only in their last byte,
        // in case or by a prefix, and some are not ASCII.
        var generator = SystemRandomNumberGenerator()
        var members: [String] = ["", "a", "A", "ab", "zoë@example.com", "zoe\u{0308}@example.com", "🚀@example.com"]
        for i in 0..<60_000 {
            if i % 3 == 2, let earlier = members.randomElement(using: &generator) {
                members.append(earlier)
            } else {
                members.append("person\(i)@example.com")
                members.append("person\(i)@example.co")
            }
        }
        for member in members {
            let inserted = compact.insert(member)
            #expect(inserted == reference.insert(Array(member.utf8)).inserted, "\(member)")
        }
        #expect(compact.count == reference.count)
        for member in members { #expect(compact.contains(member)) }
        for absent in ["person1@example.c", "b", "person60000@example.com", "PERSON1@example.com", "zoë@example.co"] {
            #expect(!compact.contains(absent), "\(absent)")
        }
        // Bytes, not Unicode canonical equivalence (which String's == uses): the two spellings
        // of "zoë" are two members. An import's addresses are ASCII, where the two agree.
        #expect("zoë" == "zoe\u{0308}")
        #expect(compact.contains("zoë@example.com") && compact.contains("zoe\u{0308}@example.com"))
    }

    @Test func keepsAMemberOfTheLongestLength() {
        var set = CompactStringSet()
        let long = String(repeating: "x", count: CompactStringSet.maxLength)
        let first = set.insert(long), again = set.insert(long)
        #expect(first && !again)
        #expect(!set.contains(String(long.dropLast())))
        let shorter = set.insert(String(long.dropLast()))
        #expect(shorter)
        #expect(set.count == 2)
    }
}
