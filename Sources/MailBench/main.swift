// mail-bench: messages per second from Mail's SMTPTransport into an SMTP server
// (Postfix's smtp-sink in scripts/mail-bench.sh). Not a test: a measurement.
//
//   mail-bench --port 2525 [--host 127.0.0.1] [--connections 4] [--messages 20000] [--size 5000]
//   mail-bench --transport 'smtp://user:pw@127.0.0.1:587?tls=required&ca=/tmp/ca.pem' [...]
//
// Without --transport the connection is plain SMTP to host:port; with it, the URL says how
// (STARTTLS, implicit TLS, AUTH) exactly as Herald's --transport does.
//
// Prints one line: "<messages> messages in <seconds> s = <rate> msg/s, <µs> µs CPU a message"
// (the user and system time of this process over the timed part, divided by the messages).
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

let configuration: SMTPClientConfiguration
if CommandLine.arguments.contains("--transport") {
    do {
        configuration = try TransportURL(option("transport", "")).clientConfiguration()
    } catch {
        print("mail-bench: \(error)")
        exit(2)
    }
} else {
    configuration = SMTPClientConfiguration(host: host, port: port, security: .none)
}
let transport = SMTPTransport(
    configuration: configuration,
    poolConfiguration: SMTPPoolConfiguration(maximumConnections: connections, maximumMessagesPerConnection: .max)
)
let batch = [OutgoingMessage](repeating: OutgoingMessage(envelope: envelope, message: message), count: count)

// Warm up: open the connections and fault in the code paths.
_ = await transport.send(Array(batch.prefix(min(count, 200 * connections))))

func cpuMicroseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

let clock = ContinuousClock()
let cpuStart = cpuMicroseconds()
let start = clock.now
let results = await transport.send(batch)
let elapsed = clock.now - start
let cpu = cpuMicroseconds() - cpuStart
await transport.shutdown()

let failed = results.filter { (try? $0.get())?.allAccepted != true }.count
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(String(format: "%d messages in %.3f s = %.0f msg/s, %.0f µs CPU a message%@", count, seconds, Double(count) / seconds,
             cpu / Double(count), failed > 0 ? " (\(failed) failed)" : ""))
if let failure = results.first(where: { (try? $0.get())?.allAccepted != true }) {
    print("first failure: \(failure)")
    exit(1)
}
