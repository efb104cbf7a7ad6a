// libFuzzer target for the bounce reader: BounceReport, isAutomaticReply, and the reason
// classifier on every recipient and on the raw input read as an SMTP reply.
// Built by scripts/mail-fuzz.sh together with the reader's own source files.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBounce(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let message = MIMEPart(parsing: bytes)
    let automatic = BounceReport.isAutomaticReply(message)
    if let report = BounceReport(message: message) {
        precondition(!automatic, "an automatic reply read as a bounce")
        for recipient in report.recipients {
            _ = recipient.reason
            _ = recipient.severity
            if let address = recipient.address { precondition(address == address.lowercased(), "address not lower case") }
            if let status = recipient.status {
                let numbers = status.split(separator: ".")
                precondition(numbers.count == 3 && numbers.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }, "malformed status \(status)")
            }
        }
    }
    // The same bytes as a status and a reply text, as at send time.
    let text = String(decoding: bytes, as: UTF8.self)
    let cut = text.firstIndex(of: "\n") ?? text.endIndex
    let reason = BounceReason.classify(status: String(text[..<cut]), diagnostic: String(text[cut...]))
    precondition(BounceReason.allCases.contains(reason))
    return 0
}
