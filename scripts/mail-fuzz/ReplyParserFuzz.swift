// libFuzzer target for SMTPReplyParser: bytes a hostile server might send.
// Built by scripts/mail-fuzz.sh together with the parser's own source files.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReplyParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var parser = SMTPReplyParser(maximumLineLength: 512, maximumLinesPerReply: 16)
    // Split the input in two reads to exercise incremental parsing.
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    for chunk in [bytes[..<split], bytes[split...]] {
        parser.append(chunk)
        do {
            while let reply = try parser.next() {
                precondition((200...599).contains(reply.code), "reply code out of range")
                precondition(!reply.lines.isEmpty && reply.lines.count <= 16, "line count out of bounds")
                if let enhanced = reply.enhancedCode { precondition(enhanced.statusClass == reply.code / 100) }
                _ = SMTPCapabilities(ehloReply: reply)
            }
        } catch {
            return 0
        }
    }
    return 0
}
