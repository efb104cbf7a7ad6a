import NIOCore
import Testing
@testable import Mail

/// The loops over every byte of every message take eight bytes at a time; each is checked
/// here against the plain byte-by-byte rules it replaced, on inputs made to hit the edges
/// (runs across chunk ends, a space or "=" at a chunk's last byte, lines near 76 columns,
/// bare CR and LF, 8-bit bytes).
@Suite struct ByteLoopTests {
    /// Bytes drawn mostly from long printable runs, with the awkward ones mixed in.
    static func input(_ generator: inout some RandomNumberGenerator) -> [UInt8] {
        let awkward: [[UInt8]] = [[32], [9], [61], [10], [13], [13, 10], [46], [0xC3, 0x84], [127], [0], [31], [126], [33]]
        var out: [UInt8] = []
        for _ in 0..<Int.random(in: 0...60, using: &generator) {
            if Bool.random(using: &generator) {
                out += (0..<Int.random(in: 1...90, using: &generator)).map { _ in UInt8.random(in: 33...126, using: &generator) }
            } else {
                out += awkward.randomElement(using: &generator)!
            }
        }
        return out
    }

    @Test func swarAnswersLikeTheBytes() {
        var generator = SystemRandomNumberGenerator()
        let interesting: [UInt8] = [0, 1, 9, 10, 13, 31, 32, 33, 60, 61, 62, 126, 127, 128, 200, 255]
        for _ in 0..<20_000 {
            let bytes = (0..<8).map { _ in Bool.random(using: &generator) ? interesting.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator) }
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            #expect(SWAR.hasZero(word) == bytes.contains(0))
            #expect(SWAR.hasByte(10, in: word) == bytes.contains(10))
            #expect(SWAR.hasByte(61, in: word) == bytes.contains(61))
            #expect(SWAR.hasLess(than: 32, in: word & ~SWAR.highBits) == bytes.contains { $0 & 0x7F < 32 })
            #expect(SWAR.allPrintableOrSpaceExceptEquals(word) == bytes.allSatisfy { (32...126).contains($0) && $0 != 61 }, "\(bytes)")
        }
    }

    @Test func quotedPrintableMatchesTheByteRules() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let text = Self.input(&generator)
            let fast = text.withUnsafeBufferPointer { buffer in
                var out: [UInt8] = []
                QuotedPrintable.encode(buffer, into: &out)
                return out
            }
            #expect(fast == Self.referenceQuotedPrintable(text), "\(text)")
        }
    }

    @Test func preparedDataMatchesTheByteRules() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let message = Self.input(&generator)
            let body = MessageBody(message: message)
            let reference = Self.referencePrepare(message)
            #expect(Array(body.bytes.readableBytesView) == reference.bytes, "\(message)")
            #expect(body.messageSize == reference.size && body.hasEightBitData == reference.eightBit)
        }
    }

    /// RFC 2045 §6.7, a byte at a time (the encoder before its eight-byte path).
    static func referenceQuotedPrintable(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let count = bytes.count
        var column = 0
        var i = 0
        while i < count {
            let byte = bytes[i]
            let next: UInt8 = i + 1 < count ? bytes[i + 1] : 10
            if byte == 10 || (byte == 13 && (next == 10 || i + 1 == count)) {
                if byte == 13 { i += 1 }
                if i < count {
                    out += [13, 10]
                    i += 1
                }
                column = 0
                continue
            }
            let isLast = next == 10 || (next == 13 && (i + 2 == count || bytes[i + 2] == 10))
            let literal = (byte &- 33 < 94 && byte != 61) || ((byte == 32 || byte == 9) && !isLast)
            let width = literal ? 1 : 3
            if column + width > (isLast ? 76 : 75) {
                out += [61, 13, 10]
                column = 0
            }
            if literal {
                out.append(byte)
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += [61, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
            column += width
            i += 1
        }
        return out
    }

    /// RFC 5321 §2.3.8, §4.5.2 and §4.1.1.4, a byte at a time.
    static func referencePrepare(_ bytes: [UInt8]) -> (bytes: [UInt8], size: Int, eightBit: Bool) {
        var out: [UInt8] = []
        var atLineStart = true
        var stuffed = 0
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 10 || byte == 13 {
                out += [13, 10]
                i += byte == 13 && i + 1 < bytes.count && bytes[i + 1] == 10 ? 2 : 1
                atLineStart = true
                continue
            }
            if atLineStart && byte == 46 {
                out.append(46)
                stuffed += 1
            }
            out.append(byte)
            atLineStart = false
            i += 1
        }
        if !atLineStart { out += [13, 10] }
        let size = out.count - stuffed
        return (out + [46, 13, 10], size, bytes.contains { $0 >= 0x80 })
    }
}
