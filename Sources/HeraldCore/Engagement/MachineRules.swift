/// Tells a person's open or click from a machine's: privacy proxies that fetch every image,
/// mail scanners that follow every link, prefetchers. The one place these rules live.
///
/// Machines' events are recorded and shown apart from people's; trigger actions ignore them
/// unless a mass email asks otherwise.
public enum MachineRules {
    /// What the rules look at for one hit on a tracking URL.
    public struct Hit: Sendable, Hashable {
        public var isHead: Bool
        public var userAgent: String?
        /// Whether the hidden trap link was followed.
        public var isTrap: Bool
        /// Seconds from the message's delivery to the hit; nil when unknown.
        public var secondsAfterDelivery: Int64?

        public init(isHead: Bool = false, userAgent: String?, isTrap: Bool = false, secondsAfterDelivery: Int64?) {
            self.isHead = isHead
            self.userAgent = userAgent
            self.isTrap = isTrap
            self.secondsAfterDelivery = secondsAfterDelivery
        }
    }

    /// Hits this soon after delivery are a gateway's scan: no person opens mail that fast.
    public static let defaultQuietSeconds: Int64 = 5

    /// Parts of user agents that only machines send (lowercased): mail security gateways and
    /// link scanners, link-preview bots, HTTP libraries and headless browsers.
    static let machineAgents: [String] = [
        "barracuda", "proofpoint", "mimecast", "symantec", "messagelabs", "forcepoint", "trendmicro", "trend micro",
        "sophos", "fortiguard", "fortinet", "ironport", "cisco", "zscaler", "paloalto", "checkpoint", "bitdefender",
        "kaspersky", "urlscan", "virustotal", "safelinks", "linkscanner", "bot", "crawler", "spider", "slurp",
        "preview", "facebookexternalhit", "whatsapp", "python-", "curl/", "wget/", "go-http-client", "java/",
        "okhttp", "axios/", "node-fetch", "libwww", "httpclient", "headlesschrome", "phantomjs", "zgrab",
    ]

    private static let machineAgentBytes = machineAgents.map { Array($0.utf8) }

    /// The first of ``machineAgents`` in `agent`, ignoring ASCII case. Compared byte by byte:
    /// every tracking hit asks, and Foundation's `contains` (a locale-aware search for each of
    /// the 43) took half of the hit writer's time in a burst.
    static func knownMachine(_ agent: String) -> String? {
        let lower = agent.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        return lower.withUnsafeBufferPointer { haystack in
            for (index, needle) in machineAgentBytes.enumerated() where needle.count <= haystack.count {
                let first = needle[0]
                for start in 0...(haystack.count - needle.count) where haystack[start] == first {
                    if needle.indices.allSatisfy({ haystack[start + $0] == needle[$0] }) { return machineAgents[index] }
                }
            }
            return nil
        }
    }

    /// The scanners found in user agents already seen: a burst of hits repeats a few agents.
    public struct AgentMemo: Sendable {
        private var known: [String: String?] = [:]
        public init() {}

        mutating func scanner(in agent: String) -> String? {
            if let verdict = known[agent] { return verdict }
            let verdict = MachineRules.knownMachine(agent)
            if known.count < 4_096 { known[agent] = verdict }
            return verdict
        }
    }

    /// Why the hit is a machine's, or nil when a person made it.
    public static func machineReason(_ hit: Hit, quietSeconds: Int64 = defaultQuietSeconds) -> String? {
        var memo = AgentMemo()
        return machineReason(hit, quietSeconds: quietSeconds, memo: &memo)
    }

    /// Why the hit is a machine's, or nil when a person made it; `memo` carries the user
    /// agents' verdicts from one hit to the next.
    public static func machineReason(_ hit: Hit, quietSeconds: Int64 = defaultQuietSeconds, memo: inout AgentMemo) -> String? {
        if hit.isTrap { return "followed the hidden link" }
        if hit.isHead { return "HEAD request" }
        let agent = (hit.userAgent ?? "").trimmedWhitespace
        if agent.isEmpty { return "no user agent" }
        // Apple Mail Privacy Protection fetches every image through proxies that send nothing more.
        if agent == "Mozilla/5.0" { return "privacy proxy (Apple Mail Privacy Protection)" }
        if let known = memo.scanner(in: agent) { return "user agent of a scanner (\(known))" }
        if let seconds = hit.secondsAfterDelivery, seconds < quietSeconds {
            return "within \(quietSeconds) seconds of delivery"
        }
        return nil
    }
}
