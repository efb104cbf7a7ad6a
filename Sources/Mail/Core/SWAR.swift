/// Tests on eight bytes at once in a `UInt64` ("SIMD within a register"), for the loops that
/// run over every byte of every message: quoted-printable encoding and preparing DATA.
/// Each answers exactly whether any (or every) byte qualifies; byte order does not matter.
enum SWAR {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether a byte of `word` is 0.
    @inline(__always) static func hasZero(_ word: UInt64) -> Bool {
        (word &- ones) & ~word & highBits != 0
    }

    /// Whether a byte of `word` is `byte`.
    @inline(__always) static func hasByte(_ byte: UInt8, in word: UInt64) -> Bool {
        hasZero(word ^ (ones &* UInt64(byte)))
    }

    /// Whether a byte of `word` is below `n` (n at most 128).
    @inline(__always) static func hasLess(than n: UInt8, in word: UInt64) -> Bool {
        (word &- ones &* UInt64(n)) & ~word & highBits != 0
    }

    /// Whether every byte of `word` is printable ASCII or a space (32 to 126), and none is
    /// "=": what quoted-printable writes as it is (RFC 2045 §6.7 rules 2 and 3).
    @inline(__always) static func allPrintableOrSpaceExceptEquals(_ word: UInt64) -> Bool {
        word & highBits == 0 && !hasLess(than: 32, in: word) && !hasByte(127, in: word) && !hasByte(61, in: word)
    }
}
