import CResolv
import NIOPosix

/// Looks DNS records up through the system's resolver (glibc's libresolv: `/etc/resolv.conf`,
/// its retries and timeouts), or through one server given as `address:port` — a test's
/// dnsmasq on loopback, or a resolver of the operator's choosing.
///
/// ```swift
/// let dns = try DNSResolver(server: "127.0.0.1:5353")
/// switch try await dns.txt("sel._domainkey.example.com") {
/// case .records(let values): print(values)     // ["v=DKIM1; k=rsa; p=MIIB…"]
/// case .noSuchName, .noRecords: print("missing")
/// }
/// ```
///
/// A lookup blocks a thread of NIO's thread pool, not the caller's.
public struct DNSResolver: Sendable {
    /// What a name has of one record type.
    public enum Answer<Record: Sendable & Hashable>: Sendable, Hashable {
        case records([Record])
        /// The name does not exist (NXDOMAIN).
        case noSuchName
        /// The name exists but has no record of this type.
        case noRecords

        /// The records, or none.
        public var records: [Record] {
            if case .records(let records) = self { return records }
            return []
        }
    }

    /// One mail exchanger (RFC 5321 §5.1).
    public struct MX: Sendable, Hashable, CustomStringConvertible {
        public var preference: Int
        /// Without the final dot, lower case.
        public var host: String
        public var description: String { "\(preference) \(host)" }
    }

    /// The server asked instead of the system's; nil: the system's resolver.
    public let server: (address: String, port: Int)?

    /// The system's resolver.
    public init() { server = nil }

    /// One server, `address` or `address:port` (IPv4; port 53 by default).
    public init(server text: String) throws(MailError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), Self.isIPv4(String(parts[0])) else {
            throw MailError(.invalidURL, "DNS server '\(text)' is not an IPv4 address with an optional port, like 127.0.0.1:5353")
        }
        var port = 53
        if parts.count == 2 {
            guard let value = Int(parts[1]), (1...65535).contains(value) else {
                throw MailError(.invalidURL, "DNS server '\(text)': the port is not a number from 1 to 65535")
            }
            port = value
        }
        server = (String(parts[0]), port)
    }

    /// The TXT records of `name`, each one's character-strings joined (RFC 7208 §3.3, RFC
    /// 6376 §3.6.2.2: a long value is split into 255-byte strings that are read as one).
    public func txt(_ name: String) async throws(MailError) -> Answer<String> {
        try await query(name, type: 16) { rdata, _, _ in
            var value: [UInt8] = []
            var index = 0
            while index < rdata.count {
                let length = Int(rdata[index])
                let end = min(rdata.count, index + 1 + length)
                value += rdata[(index + 1)..<end]
                index = end
            }
            return String(decoding: value, as: UTF8.self)
        }
    }

    /// The MX records of `name`, lowest preference first.
    public func mx(_ name: String) async throws(MailError) -> Answer<MX> {
        let answer: Answer<MX> = try await query(name, type: 15) { rdata, message, offset in
            guard rdata.count >= 3 else { return nil }
            let preference = Int(rdata[0]) << 8 | Int(rdata[1])
            guard let host = Self.expandName(in: message, at: offset + 2) else { return nil }
            return MX(preference: preference, host: host)
        }
        if case .records(let records) = answer { return .records(records.sorted { ($0.preference, $0.host) < ($1.preference, $1.host) }) }
        return answer
    }

    // MARK: - The query

    /// Asks for records of `type` and reads each answer's data with `read` (its bytes, the
    /// whole message and the data's offset in it, for compressed names).
    private func query<Record: Sendable & Hashable>(
        _ name: String, type: Int32, read: @escaping @Sendable ([UInt8], [UInt8], Int) -> Record?
    ) async throws(MailError) -> Answer<Record> {
        let server = self.server
        let result: Result<Answer<Record>, MailError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                Self.blockingQuery(name, type: type, server: server, read: read)
            }
        } catch {
            throw MailError(.dnsLookupFailed, "looking up \(name) could not start: \(error)")
        }
        return try result.get()
    }

    private static func blockingQuery<Record: Sendable & Hashable>(
        _ name: String, type: Int32, server: (address: String, port: Int)?, read: ([UInt8], [UInt8], Int) -> Record?
    ) -> Result<Answer<Record>, MailError> {
        let state = UnsafeMutablePointer<herald_res_state>.allocate(capacity: 1)
        defer { state.deallocate() }
        guard herald_res_ninit(state) == 0 else {
            return .failure(MailError(.dnsLookupFailed, "the system's DNS resolver could not be set up (/etc/resolv.conf)"))
        }
        defer { herald_res_nclose(state) }
        // Two tries of two seconds: a check page should answer, not hang.
        herald_res_timeouts(state, 2, 2)
        if let server, herald_res_use_server(state, server.address, UInt16(server.port)) != 0 {
            return .failure(MailError(.dnsLookupFailed, "DNS server \(server.address) is not an IPv4 address"))
        }
        var answer = [UInt8](repeating: 0, count: 65_535)
        let length = herald_res_nquery(state, name, type, &answer, Int32(answer.count))
        guard length >= 12 else {
            switch herald_res_h_errno(state) {
            case HOST_NOT_FOUND: return .success(.noSuchName)
            case NO_DATA: return .success(.noRecords)
            case TRY_AGAIN: return .failure(MailError(.dnsLookupFailed, "no DNS server answered for \(name) (timed out or failed)"))
            default: return .failure(MailError(.dnsLookupFailed, "the DNS lookup of \(name) failed"))
            }
        }
        let message = Array(answer[0..<Int(length)])
        // RFC 1035 §4.1.1: ANCOUNT, bytes 6 and 7 of the header.
        let count = Int(message[6]) << 8 | Int(message[7])
        // The parser keeps pointers into the message: every use stays inside this closure.
        let spans: [Range<Int>]? = message.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var handle = ns_msg()
            guard ns_initparse(base, Int32(buffer.count), &handle) == 0 else { return nil }
            var spans: [Range<Int>] = []
            for index in 0..<count {
                var record = ns_rr()
                guard ns_parserr(&handle, ns_s_an, Int32(index), &record) == 0, Int32(record.type) == type,
                      let data = record.rdata else { continue }
                let offset = data - base
                spans.append(offset..<min(buffer.count, offset + Int(record.rdlength)))
            }
            return spans
        }
        guard let spans else {
            return .failure(MailError(.dnsLookupFailed, "the DNS answer for \(name) could not be read"))
        }
        let records = spans.compactMap { read(Array(message[$0]), message, $0.lowerBound) }
        return .success(records.isEmpty ? .noRecords : .records(records))
    }

    /// A possibly compressed domain name at `offset` (RFC 1035 §4.1.4), lower case, without the final dot.
    static func expandName(in message: [UInt8], at offset: Int) -> String? {
        var labels: [String] = []
        var index = offset
        var jumps = 0
        while index < message.count {
            let length = Int(message[index])
            if length == 0 { return labels.joined(separator: ".").lowercased() }
            if length & 0xC0 == 0xC0 {
                guard index + 1 < message.count, jumps < 32 else { return nil }
                index = (length & 0x3F) << 8 | Int(message[index + 1])
                jumps += 1
                continue
            }
            guard index + 1 + length <= message.count else { return nil }
            labels.append(String(decoding: message[(index + 1)..<(index + 1 + length)], as: UTF8.self))
            index += 1 + length
        }
        return nil
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in UInt8(part).map { _ in !part.isEmpty } ?? false }
    }
}
