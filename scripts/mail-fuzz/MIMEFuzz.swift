// libFuzzer target for MIMEPart: whatever bytes arrive at the return path or the reply
// address are parsed, so no input may crash, hang or take more than linear time.
// Built by scripts/mail-fuzz.sh together with the parser's own source files.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let message = MIMEPart(parsing: bytes)
    let all = message.allParts
    // Nesting stops at maximumDepth: a part is at most that deep, so at most one part per
    // delimiter line and level can exist.
    precondition(all.count <= bytes.count + 1, "more parts than bytes")
    for part in all {
        _ = part.text
        _ = part.contentType
        _ = part.contentTypeParameter("boundary")
        _ = part.contentTypeParameter("charset")
        _ = part.header("Subject")
        precondition(part.contentType.contains("/"), "content type without a slash")
    }
    _ = MIMEPart(parsingHeaders: bytes)
    _ = MIMEPart.split(bytes)
    return 0
}
