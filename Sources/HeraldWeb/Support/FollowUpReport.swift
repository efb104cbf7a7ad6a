import Foundation
import HeraldCore
import HeraldStore

/// One follow-up of a mass email as the pages and the API show it: what it is, where it
/// stands, and its own figures (its step's messages).
struct FollowUpReport {
    /// 1 for the first follow-up.
    var step: Int
    var followUp: FollowUp
    var status: FollowUpRun.Status
    var run: FollowUpRun?
    var figures: MassEmailFigures
    /// Whether it has a Stop of its own: a draft's or a scheduled mass email's follow-ups are
    /// edited instead.
    var stoppable: Bool
    /// The follow-up in words ("3 days after sending, template “Reminder”, …").
    var summary: String

    /// The follow-ups of each of `massEmails` that has any, in step order.
    static func load(_ massEmails: [MassEmail], store: Store) async throws -> [Int64: [FollowUpReport]] {
        let withFollowUps = massEmails.filter { !$0.followUps.isEmpty }
        guard !withFollowUps.isEmpty else { return [:] }
        let runs = try await store.followUpRuns.runs(of: withFollowUps.map(\.id))
        var figures: [Int: [Int64: MassEmailFigures]] = [:]
        for step in 1...(withFollowUps.map(\.followUps.count).max() ?? 1) {
            figures[step] = try await store.massEmails.figures(withFollowUps.filter { $0.followUps.count >= step }.map(\.id), step: step)
        }
        let modules = try await store.modules.all()
        var templateNames: [Int64: String] = [:]
        var out: [Int64: [FollowUpReport]] = [:]
        for m in withFollowUps {
            guard let module = modules.first(where: { $0.apiName == m.module }) else { continue }
            for (i, followUp) in m.followUps.enumerated() {
                if templateNames[followUp.templateID] == nil {
                    templateNames[followUp.templateID] = (try? await store.templates.find(followUp.templateID))?.name ?? "(deleted template)"
                }
                let run = runs[m.id]?.first { $0.step == i + 1 }
                let status = FollowUpRun.Status.of(run, massEmail: m.status)
                out[m.id, default: []].append(FollowUpReport(
                    step: i + 1, followUp: followUp, status: status, run: run,
                    figures: figures[i + 1]?[m.id] ?? MassEmailFigures(), stoppable: status.isStoppable && !m.status.isEditable,
                    summary: followUp.summary(in: module, templateName: templateNames[followUp.templateID] ?? "")))
            }
        }
        return out
    }

    /// The time to show: when it finished, fired, or is due.
    var time: Int64? { run?.finishedAt ?? run?.startedAt ?? run?.dueAt }

    /// Those it left out, by reason, in words: "2 opened or replied (its rules), 1 bounced".
    var excludedText: String {
        FollowUpExclusionReason.allCases.compactMap { reason in
            guard let n = run?.excluded[reason], n > 0 else { return nil }
            return "\(n) \(reason.label)"
        }.joined(separator: ", ")
    }

    /// The follow-up's row under its mass email, on the list and on the mass email's page.
    func row(massEmailID: Int64, local: LocalTime) -> Row {
        Row(massEmailID: massEmailID, step: step, summary: summary, status: status.rawValue, reason: run?.statusReason,
            time: time.map(local.readable) ?? "—",
            timeLabel: run == nil ? "" : status == .stopped ? "stopped" : run?.finishedAt != nil ? "finished" : run?.startedAt != nil ? "fired" : "due",
            fired: run?.startedAt != nil,
            excluded: run?.excludedCount ?? 0, excludedAny: (run?.excludedCount ?? 0) > 0, excludedText: excludedText,
            stoppable: stoppable, resumable: status == .paused, figures: MassEmailPages.FigureColumns(figures))
    }

    struct Row: PageModel {
        let massEmailID: Int64
        let step: Int
        let summary: String, status: String
        /// Its own, or null: never its mass email's.
        let reason: String?
        let time: String, timeLabel: String
        /// Whether it fired: before, it has no figures to show ("—", not "0 of 0").
        let fired: Bool
        let excluded: Int
        let excludedAny: Bool
        let excludedText: String
        let stoppable: Bool, resumable: Bool
        let figures: MassEmailPages.FigureColumns

        func child(named key: String) -> Any? {
            reflectedChild(named: key) ?? figures.child(named: key)
        }
    }

    var json: JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null }
        return .object([
            "step": .number(Double(step)), "status": .string(status.rawValue),
            "status_reason": run?.statusReason.map(JSONValue.string) ?? .null,
            "due_at": time(run?.dueAt), "started_at": time(run?.startedAt), "finished_at": time(run?.finishedAt),
            "excluded": .object(Dictionary(uniqueKeysWithValues: FollowUpExclusionReason.allCases.map {
                ($0.rawValue, JSONValue.number(Double(run?.excluded[$0] ?? 0)))
            })),
            "figures": Present.figures(figures),
        ])
    }
}

extension FollowUpExclusionReason {
    /// As the pages list it after a count.
    var label: String {
        switch self {
        case .bounced: "bounced"
        case .unsubscribed: "unsubscribed"
        case .optedOut: "opted out"
        case .suppressed: "suppressed"
        case .criteria: "by its rules"
        }
    }
}
