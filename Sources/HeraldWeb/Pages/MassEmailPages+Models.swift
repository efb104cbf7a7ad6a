import HeraldCore
import HeraldDelivery
import HeraldStore

// The models of the mass email pages: the list by status, the form, and a mass email's page.
extension MassEmailPages {
    /// A mass email's or a follow-up's figures as the list's columns: counts, and rates of
    /// what they are out of. The counts that are usually 0 are missing then, so that their
    /// notes are left out.
    struct FigureColumns: PageModel {
        let recipients: Int, sent: Int, delivered: Int
        let bounced: Int, bounceRate: String, deliveredRate: String
        let opened: Int, openRate: String, machineOpened: Int?
        let clicked: Int, clickRate: String, machineClicked: Int?
        let unsubscribed: Int, unsubscribeRate: String
        let softBounced: Int?, replied: Int, replyRate: String
        let refused: Int?, complained: Int, complaintRate: String

        init(_ f: MassEmailFigures) {
            (recipients, sent, delivered) = (f.recipients, f[.sent], f[.sent])
            (bounced, bounceRate) = (f[.bounced], MassEmailPages.rate(f[.bounced], of: f.processed))
            deliveredRate = MassEmailPages.rate(f[.sent], of: f.processed)
            (opened, openRate, machineOpened) = (f.opened, MassEmailPages.rate(f.opened, of: f[.sent]), MassEmailPages.ifAny(f.machineOpened))
            (clicked, clickRate, machineClicked) = (f.clicked, MassEmailPages.rate(f.clicked, of: f[.sent]), MassEmailPages.ifAny(f.machineClicked))
            (unsubscribed, unsubscribeRate) = (f.unsubscribed, MassEmailPages.rate(f.unsubscribed, of: f[.sent]))
            (softBounced, replied, replyRate) = (MassEmailPages.ifAny(f.softBounced), f.replied, MassEmailPages.rate(f.replied, of: f[.sent]))
            (refused, complained) = (MassEmailPages.ifAny(f.refused), f.complained)
            complaintRate = f.complaintRate.map(ComplaintRule.format) ?? ""
        }
    }

    /// Whether Stop shows, and what it stops: the mass email with its follow-ups, or (once it
    /// is sent) the follow-ups not sent yet.
    struct StopButton: PageModel {
        let stoppable: Bool
        let stopLabel: String?
        let stopConfirm: String?

        init(_ m: MassEmail, followUps: [FollowUpReport]) {
            if m.status.isStoppable {
                (stoppable, stopLabel) = (true, "Stop")
                stopConfirm = followUps.isEmpty ? "Messages not yet sent will not be sent." : "Messages not yet sent and its follow-ups will not be sent."
            } else if m.status == .sent, followUps.contains(where: \.stoppable) {
                (stoppable, stopLabel, stopConfirm) = (true, "Stop follow-ups", "Follow-ups not yet sent will not be sent.")
            } else {
                (stoppable, stopLabel, stopConfirm) = (false, nil, nil)
            }
        }
    }

    /// One mass email in the list, with its figures, its Stop button and its follow-ups' rows.
    struct SummaryRow: PageModel {
        let id: Int64
        let name: String, status: String
        let reason: String?
        let module: String, time: String, owner: String
        let followUps: [FollowUpReport.Row]
        let abLine: String?
        let figures: FigureColumns
        let stop: StopButton

        func child(named key: String) -> Any? {
            reflectedChild(named: key) ?? figures.child(named: key) ?? stop.child(named: key)
        }
    }

    /// The mass emails of one tab (`mass_emails.mustache`).
    struct Summary: PageModel {
        struct Tab: PageModel {
            let key: String, label: String
            let count: Int
            let current: Bool
        }

        let tabs: [Tab]
        let tabLabel: String
        let rows: [SummaryRow]
        let empty: Bool
        let zone: String
    }

    /// The create and edit form (`mass_email_form.mustache`), with its A/B test, trigger
    /// action and follow-up sections.
    struct Form: PageModel {
        struct ModuleOption: PageModel { let apiName: String, label: String, selected: Bool }
        struct Choice: PageModel { let id: Int64, name: String, selected: Bool }
        struct SenderOption: PageModel {
            let id: Int64
            let label: String
            let selected: Bool
            let warning: String
        }
        struct Zone: PageModel { let name: String, selected: Bool }
        struct Problem: PageModel { let field: String?, reason: String }

        let title: String, action: String
        let module: ModuleLabels
        let canChangeModule: Bool
        let modules: [ModuleOption]
        let name: String
        let recipientOptions: [SelectOption]
        let recordIDs: String
        let templates: [Choice]
        let noTemplates: Bool
        let senders: [SenderOption]
        let senderWarning: String?
        let noSenders: Bool, isAdmin: Bool
        let sendNow: Bool, sendLater: Bool, sendDraft: Bool, sendLocal: Bool
        let localDate: String, localTime: String
        let ifPassed: [SelectOption]
        let zoneSource: String, date: String, time: String
        let zones: [Zone]
        let hasErrors: Bool
        let problems: [Problem]
        let nameError: String?, recipientsError: String?, templateError: String?, senderError: String?, scheduleError: String?
        let ab: ABTestForm.Section
        let abError: String?
        let newTemplateLink: String
        /// What was typed under "Create a template here", kept when the form comes back.
        struct NewTemplate: PageModel {
            let name: String, subject: String, html: String
            /// Open when something was typed in it, or it has problems.
            let open: Bool

            init(name: String, subject: String, html: String, hasProblems: Bool) {
                (self.name, self.subject, self.html) = (name, subject, html)
                open = hasProblems || !(name + subject + html).trimmedWhitespace.isEmpty
            }
        }
        let newTemplate: NewTemplate
        let triggerRows: [TriggerActionForm.Row]
        let hasTriggerRows: Bool, canAddAction: Bool
        let actionSummary: [String]
        let machinesChecked: Bool
        let actionErrors: [String]
        let hasActionErrors: Bool
        let followUpRows: [FollowUpForm.RowView]
        let hasFollowUpRows: Bool, canAddFollowUp: Bool
        let followUpSummary: [String]
        let followUpErrors: [String]
        let hasFollowUpErrors: Bool
        let spam: SpamPanel?
        let spamError: String?
    }

    /// A mass email's page (`mass_email.mustache`).
    struct Detail: PageModel {
        struct PlannedSend: PageModel {
            let at: String, utc: String
            let messages: Int, waiting: Int
        }
        struct ABTestPanel: PageModel {
            struct Variant: PageModel {
                let letter: String, template: String, subject: String
                let sent: Int, opened: Int, clicked: Int, replied: Int
                let rate: String
                let winner: Bool, canPick: Bool
            }
            let variants: [Variant]
            let state: String, measure: String
            let id: Int64
            let canPick: Bool
        }
        /// How far sending is: the share decided, and the messages by status.
        struct Progress: PageModel {
            let progress: Int
            /// "40% done", or "stopped at 40%".
            let progressText: String
            let counts: [Figure]

            /// `stopped`: Stop ended the sending, so what still waited will never go; it is counted
            /// as such rather than as queued or deferred.
            init(_ f: MassEmailFigures, stopped: Bool = false) {
                progress = f.recipients == 0 ? 0 : Int((Double(f.processed) / Double(f.recipients) * 100).rounded(.down))
                progressText = stopped ? "stopped at \(progress)%" : "\(progress)% done"
                var counts = [Figure(count: f.recipients, label: f.recipients == 1 ? "recipient" : "recipients"), Figure(count: f[.sent], label: "sent")]
                if stopped {
                    counts.append(Figure(count: MessageStatus.unsentWhenStopped.reduce(0) { $0 + f[$1] }, label: Detail.notSentLabel,
                                         title: "Stop ended the sending before these went to a server; they will not be sent"))
                } else {
                    counts += [(MessageStatus.queued, "queued"), (.sending, "sending"), (.deferred, "deferred")]
                        .map { Figure(count: f[$0.0], label: $0.1) }
                }
                if f[.uncertain] > 0 {
                    counts.append(Figure(count: f[.uncertain], label: "uncertain", title: "The data went out and the connection was lost "
                                         + "before the server's reply: tried again until a server accepts it"))
                }
                counts += [Figure(count: f[.bounced], label: "bounced"), Figure(count: f[.failed], label: "failed")]
                self.counts = counts
            }
        }
        /// People's engagement, each count with its rate, and what machines did apart.
        struct Engagement: PageModel {
            let counts: [Figure]
            let machineOpened: Int, machineClicked: Int

            init(_ f: MassEmailFigures, complaintThreshold threshold: Double) {
                // The rates the list's columns show, each out of the same count.
                let c = FigureColumns(f)
                let rate = MassEmailPages.rate
                counts = [
                    Figure(count: c.opened, label: "opened", note: c.openRate),
                    Figure(count: c.clicked, label: "clicked", note: "\(c.clickRate) · \(rate(f.clicked, f.opened)) of opens"),
                    Figure(count: c.bounced, label: "bounced hard", note: c.bounceRate),
                    Figure(count: f.softBounced, label: "bounced soft", note: rate(f.softBounced, f.processed)),
                    Figure(count: c.unsubscribed, label: "unsubscribed", note: c.unsubscribeRate),
                    Figure(count: c.replied, label: "replied", note: c.replyRate),
                    Figure(count: f.complained, label: "complained", note: f.complaintRate.map(ComplaintRule.format), id: "complaints",
                           title: "Reported as spam, per delivered message; mailbox providers want under \(ComplaintRule.format(threshold))",
                           over: (f.complaintRate ?? 0) > threshold),
                ]
                (machineOpened, machineClicked) = (f.machineOpened, f.machineClicked)
            }
        }
        struct Action: PageModel { let summary: String, runs: Int }
        struct Skipped: PageModel { let label: String, count: Int }
        /// What a message that Stop left unsent is called on the page.
        static let notSentLabel = "not sent (stopped)"

        struct Message: PageModel {
            /// `status` is the message's (its style); `label` what the page says.
            let address: String, status: String, label: String, step: String, recordLink: String
            let attempts: Int
            let reply: String, when: String, opened: String, clicked: String
            let machines: String?
            let unsubscribed: String
            /// When the first reply came (read on the record's page), and a spam complaint.
            let replied: String?, complained: String?
        }

        let id: Int64
        let name: String, status: String
        let reason: String?
        let module: String, recipientsText: String
        /// Before its recipients are resolved: how many records they select now.
        let selectedNow: String?
        let template: String
        /// The template's editor; nil once it is deleted.
        let templateLink: String?
        let sender: String
        let scheduled: String?, localDelivery: String?
        let plannedSends: [PlannedSend]
        let hasPlannedSends: Bool, plannedExpected: Bool
        let abTest: ABTestPanel?
        let started: String?, finished: String?
        let resolving: Bool
        let waiting: String?
        let figures: Progress
        let engagement: Engagement
        let refusals: [BouncePages.Refusal]
        /// nil when none: Mustache opens a section for 0 too.
        let refused: Int?
        let chart: String?
        let chartRows: [EngagementChart.Row]
        let actions: [Action]
        let hasActions: Bool, machines: Bool
        let followUps: [FollowUpReport.Row]
        let hasFollowUps: Bool
        let skipped: [Skipped]
        let hasSkipped: Bool
        let rows: [Message]
        let next: String?
        let editable: Bool, pausable: Bool, resumable: Bool, deletable: Bool
        let stop: StopButton

        func child(named key: String) -> Any? {
            reflectedChild(named: key) ?? stop.child(named: key)
        }
    }
}
