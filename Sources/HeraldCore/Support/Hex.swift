/// Lower-case hexadecimal, two digits a byte.
///
/// Written out by table: `String(format: "%02x")` a byte went through Foundation's formatter
/// and cost more than the hash it printed (about a sixth of a mass email's CPU, when every
/// recipient's address was hashed that way).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
