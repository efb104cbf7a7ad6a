/// What erasing a person (GDPR art. 17) removed, or would remove, kind by kind: what the
/// API answers and the pages show.
///
/// ```swift
/// let erased = try await store.erasure.erase(in: contacts, id: 42)
/// print(erased.messages, erased.suppressedAddresses)
/// ```
public struct Erasure: Sendable, Hashable, Codable {
    /// The module's API name and the record's id.
    public var module: String
    public var recordID: Int64
    /// The record itself: 1.
    public var records = 0
    /// Mass email messages to the person that had been decided (sent, bounced, failed): kept
    /// for the mass emails' figures, with the address, the record and the server's reply removed.
    public var messages = 0
    /// Messages still waiting to go: not sent now, and kept, like the others, as anonymous rows.
    public var unsentMessages = 0
    /// Opens and clicks of those messages whose user agent was removed; like the messages,
    /// they stay, anonymous, for the mass emails' hourly chart.
    public var events = 0
    /// Replies whose sender, subject, headers and text were removed (each still counts as a
    /// reply in the figures).
    public var replies = 0
    /// Bounce reports about the person's messages or address whose address, diagnostic and
    /// report as received were removed (each still counts in the figures).
    public var bounces = 0
    public var tasks = 0
    public var calls = 0
    public var listMemberships = 0
    /// Trigger actions recorded as having run for the record, now for nobody (each still
    /// counts as a run).
    public var triggerRuns = 0
    /// Mass emails to selected records whose selection named the record.
    public var massEmailSelections = 0
    /// Entries of the suppression list with the plain address, replaced by its keyed hash.
    public var suppressions = 0
    /// Addresses now on the suppression list only as a keyed hash, so that they are never mailed again.
    public var suppressedAddresses = 0

    public init(module: String, recordID: Int64) {
        self.module = module
        self.recordID = recordID
    }

    /// The counts by name, in the order the pages list them, with how a person reads each.
    public var items: [(key: String, label: String, count: Int)] {
        [
            ("records", "the record", records),
            ("messages", "mass email messages (kept anonymous for the figures)", messages),
            ("unsent_messages", "messages not yet sent (they will not be)", unsentMessages),
            ("events", "opens and clicks (their user agents)", events),
            ("replies", "replies (sender, subject and text)", replies),
            ("bounces", "bounce reports (address, diagnostic and report)", bounces),
            ("tasks", "tasks", tasks),
            ("calls", "calls", calls),
            ("list_memberships", "static list memberships", listMemberships),
            ("trigger_runs", "trigger actions run for the record (kept as anonymous runs)", triggerRuns),
            ("mass_email_selections", "mass email selections naming the record", massEmailSelections),
            ("suppressions", "suppression list entries with the address in plain text", suppressions),
        ]
    }
}
