// libFuzzer target for FeedbackReport: complaints (ARF, JMRP, AOL) from anyone.
// Built by scripts/mail-fuzz.sh together with the reader's own source files.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFeedback(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let message = MIMEPart(parsing: bytes)
    if let report = FeedbackReport(message: message) {
        precondition(BounceReport(message: message) == nil, "a complaint read as a bounce")
        for address in report.originalRecipients + report.originalTo { precondition(address.contains("@")) }
        _ = report.complainant
        _ = report.returnPath
    }
    return 0
}
