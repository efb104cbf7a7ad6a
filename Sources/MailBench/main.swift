// mail-bench: messages per second from Mail's SMTPTransport into an SMTP server
// (Postfix's smtp-sink in scripts/mail-bench.sh). Not a test: a measurement.
//
//   mail-bench --port 2525 [--host 127.0.0.1] [--connections 4] [--messages 20000] [--size 5000]
//
// Prints one line: "<messages> messages in <seconds> s = <rate> msg/s".
import Foundation
import Mail

func option(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

let host = option("host", "127.0.0.1")
let port = Int(option("port", "25"))!
let connections = Int(option("connections", "4"))!
let count = Int(option("messages", "20000"))!
let size = Int(option("size", "5000"))!

// Like smtp-source's -l: `size` bytes of payload below a few headers, in 78-byte lines.
var payload = ""
while payload.utf8.count < size {
    payload += String(repeating: "x", count: min(76, size - payload.utf8.count)) + "\r\n"
}
let message = Array("From: <bench@example.com>\r\nTo: <sink@example.org>\r\nSubject: mail-bench\r\n\r\n\(payload)".utf8)
let envelope = try Envelope(returnPath: "bench@example.com", recipients: ["sink@example.org"])

let transport = SMTPTransport(
    configuration: SMTPClientConfiguration(host: host, port: port, security: .none),
    poolConfiguration: SMTPPoolConfiguration(maximumConnections: connections, maximumMessagesPerConnection: .max)
)
let batch = [OutgoingMessage](repeating: OutgoingMessage(envelope: envelope, message: message), count: count)

// Warm up: open the connections and fault in the code paths.
_ = await transport.send(Array(batch.prefix(min(count, 200 * connections))))

let clock = ContinuousClock()
let start = clock.now
let results = await transport.send(batch)
let elapsed = clock.now - start
await transport.shutdown()

let failed = results.filter { (try? $0.get())?.allAccepted != true }.count
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(String(format: "%d messages in %.3f s = %.0f msg/s%@", count, seconds, Double(count) / seconds, failed > 0 ? " (\(failed) failed)" : ""))
if failed > 0 { exit(1) }
