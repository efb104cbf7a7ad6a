import Foundation

/// An exact set of strings that keeps each member's UTF-8 bytes once, one after another in a
/// single buffer, and finds them through a table of 8-byte slots.
///
/// Why not `Set<String>`: an import dedupes by address across the whole file, so it keeps
/// every address it has seen. With `Set<String>` (a heap object of 64 bytes an address,
/// 16-byte buckets, every string hashed again at each doubling) a million-row import peaked at
/// 196 MB; with this set at 134 MB (an address of 25 bytes takes 27 in the buffer and an 8-byte
/// slot at most half full), and a doubling moves slots without hashing or reading a member again.
///
/// Members are equal when their UTF-8 bytes are, not by Unicode canonical equivalence as
/// `String`'s `==` has it; the two agree on ASCII, and an import's addresses are ASCII.
///
/// The hash is Swift's `Hasher`, seeded anew in each process, so a file made to collide
/// cannot make the table slow. A slot is 0 when empty, or the top 32 bits of the member's hash
/// (its tag, whose low bits also pick the slot) above the member's offset in the buffer plus
/// one; members are compared byte for byte only when their tags are equal.
struct CompactStringSet: Sendable {
    /// Every member as a two-byte length (little-endian) and its bytes, in the order inserted.
    private var buffer: [UInt8] = []
    /// Linear probing; a power of two long, kept at most half full.
    private var slots = [UInt64](repeating: 0, count: 16)
    private(set) var count = 0

    /// The longest member: its length must fit the two bytes before it. An import's addresses
    /// are at most 254 bytes (``EmailAddress/isValid(_:)``).
    static let maxLength = Int(UInt16.max)

    /// Adds `member`; false when it was already there. `member` is at most ``maxLength`` UTF-8 bytes.
    @discardableResult
    mutating func insert(_ member: String) -> Bool {
        var member = member
        return member.withUTF8 { insert(bytes: $0) }
    }

    func contains(_ member: String) -> Bool {
        var member = member
        return member.withUTF8 { find($0).found }
    }

    private mutating func insert(bytes member: UnsafeBufferPointer<UInt8>) -> Bool {
        precondition(member.count <= Self.maxLength, "a CompactStringSet member is at most \(Self.maxLength) bytes")
        let (found, slot, tag) = find(member)
        if found { return false }
        let offset = buffer.count
        // Offsets are 32 bits: four gigabytes of members, about 150 million addresses.
        precondition(offset < Int(UInt32.max), "a CompactStringSet holds at most 4 GB of members")
        buffer.append(UInt8(truncatingIfNeeded: member.count))
        buffer.append(UInt8(truncatingIfNeeded: member.count >> 8))
        buffer.append(contentsOf: member)
        slots[slot] = UInt64(tag) << 32 | UInt64(offset + 1)
        count += 1
        if count * 2 > slots.count { grow() }
        return true
    }

    /// Where `member` is, or the empty slot where it would go, and its tag.
    private func find(_ member: UnsafeBufferPointer<UInt8>) -> (found: Bool, slot: Int, tag: UInt32) {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(member))
        let tag = UInt32(truncatingIfNeeded: UInt64(bitPattern: Int64(hasher.finalize())) >> 32)
        let mask = slots.count - 1
        return buffer.withUnsafeBufferPointer { buffer in
            slots.withUnsafeBufferPointer { slots in
                var i = Int(tag) & mask
                while true {
                    let slot = slots[i]
                    if slot == 0 { return (false, i, tag) }
                    if UInt32(truncatingIfNeeded: slot >> 32) == tag {
                        let offset = Int(UInt32(truncatingIfNeeded: slot)) - 1
                        let length = Int(buffer[offset]) | Int(buffer[offset + 1]) << 8
                        if length == member.count,
                           member.isEmpty || memcmp(buffer.baseAddress! + offset + 2, member.baseAddress!, length) == 0 {
                            return (true, i, tag)
                        }
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// Twice the slots; each moves by its tag, no member is hashed or read again.
    private mutating func grow() {
        var grown = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = grown.count - 1
        for slot in slots where slot != 0 {
            var i = Int(UInt32(truncatingIfNeeded: slot >> 32)) & mask
            while grown[i] != 0 { i = (i + 1) & mask }
            grown[i] = slot
        }
        slots = grown
    }
}
