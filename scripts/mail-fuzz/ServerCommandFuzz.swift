// libFuzzer target for the server side: command parsing and the server state machine
// fed with lines a hostile client might send.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var machine = SMTPServerStateMachine(configuration: .init(serverName: "fuzz.test", maximumMessageSize: 2000, maximumRecipients: 5, offersStartTLS: true))
    _ = machine.connected()
    for (index, line) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.last == 13 ? Array(line.dropLast()) : Array(line)
        _ = try? SMTPServerCommand.parse(Substring(String(decoding: trimmed, as: UTF8.self)))
        var action = machine.received(line: trimmed)
        // Answer the application's questions so the session goes on.
        for _ in 0..<3 {
            switch action {
            case .checkRecipient:
                action = machine.recipientChecked(index % 3 == 0 ? SMTPReply(code: 550, lines: ["no"]) : nil)
            case .deliver(_, let data):
                precondition(data.count <= 2000, "size limit not enforced")
                action = machine.messageHandled(index % 5 == 0 ? SMTPReply(code: 451, lines: ["later"]) : nil)
            case .replyThenStartTLS:
                machine.tlsEstablished()
                action = .wait
            case .reply(let reply):
                precondition((200...599).contains(reply.code))
                action = .wait
            case .close:
                return 0
            case .wait:
                break
            }
        }
    }
    return 0
}
