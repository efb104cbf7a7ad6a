import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore

/// The JSON shapes of the API's resources, in one place.
enum Present {
    static func module(_ m: Module) -> JSONValue {
        .object([
            "api_name": .string(m.apiName),
            "singular_label": .string(m.singularLabel),
            "plural_label": .string(m.pluralLabel),
            "is_builtin": .bool(m.isBuiltin),
            "has_people": .bool(m.emailField != nil),
            "fields": .array(m.fields.map(field)),
        ])
    }

    static func field(_ f: Field) -> JSONValue {
        .object([
            "api_name": .string(f.apiName),
            "label": .string(f.label),
            "type": .string(f.type.rawValue),
            "required": .bool(f.isRequired),
            "is_builtin": .bool(f.isBuiltin),
            "is_system": .bool(f.isSystem),
            "picklist_values": .array(f.picklistValues.map(JSONValue.string)),
            "lookup_module": f.lookupModule.map(JSONValue.string) ?? .null,
        ])
    }

    static func record(_ r: Record, in m: Module) -> JSONValue { .object(r.json(in: m)) }

    /// What erasing a person removed: a count per kind, and how many addresses are now
    /// suppressed by their keyed hash.
    static func erasure(_ e: Erasure) -> JSONValue {
        .object([
            "module": .string(e.module), "id": .number(Double(e.recordID)),
            "erased": .object(Dictionary(uniqueKeysWithValues: e.items.map { ($0.key, JSONValue.number(Double($0.count))) })),
            "suppressed_addresses": .number(Double(e.suppressedAddresses)),
        ])
    }

    static func view(_ v: View, count: Int? = nil) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .number(Double(v.id)), "module": .string(v.module), "name": .string(v.name), "criteria": v.criteria.json,
            "created_at": .string(ISODateTime.format(epochSeconds: v.createdAt)),
            "modified_at": .string(ISODateTime.format(epochSeconds: v.modifiedAt)),
        ]
        if let count { o["count"] = .number(Double(count)) }
        return .object(o)
    }

    static func list(_ l: StaticList) -> JSONValue {
        .object(["id": .number(Double(l.id)), "module": .string(l.module), "name": .string(l.name),
                 "member_count": .number(Double(l.memberCount)), "created_at": .string(ISODateTime.format(epochSeconds: l.createdAt))])
    }

    static func template(_ t: MailTemplate) -> JSONValue {
        .object([
            "id": .number(Double(t.id)), "module": .string(t.module), "name": .string(t.name), "subject": .string(t.subject),
            "html": .string(t.html), "text": t.text.map(JSONValue.string) ?? .null,
            "created_by": t.createdBy.map { .number(Double($0)) } ?? .null,
            "created_at": .string(ISODateTime.format(epochSeconds: t.createdAt)),
            "modified_at": .string(ISODateTime.format(epochSeconds: t.modifiedAt)),
        ])
    }

    static func rendered(_ r: RenderedMail) -> JSONValue {
        .object(["subject": .string(r.subject), "html": .string(r.html), "text": .string(r.text)])
    }

    /// A spam check: SpamAssassin's score and `required` (its own line), the organisation's
    /// `threshold`, and each rule that fired, highest score first.
    static func spam(_ o: SpamCheck.Outcome) -> JSONValue {
        .object([
            "score": .number(o.report.score), "required": .number(o.report.required),
            "threshold": .number(o.threshold), "over_threshold": .bool(o.isOverThreshold),
            "refuses_over_threshold": .bool(o.refusesOverThreshold),
            "rules": .array(o.report.rules.map {
                .object(["name": .string($0.name), "score": .number($0.score), "description": .string($0.description)])
            }),
        ])
    }

    /// What the spam check's panel shows.
    /// With `authentication`: how its mail is signed (`dkim`: verified, unverified or
    /// unsigned), the return path's alignment, and `warnings` saying what to do.
    static func sender(_ listed: SenderActions.Listed) -> JSONValue {
        sender(listed.sender, authentication: listed.authentication)
    }

    static func sender(_ s: Sender, authentication a: SenderAuthentication? = nil) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .number(Double(s.id)), "email": .string(s.email), "name": .string(s.name),
            "reply_to": s.replyTo.map(JSONValue.string) ?? .null,
            "rate_per_minute": s.ratePerMinute.map { .number(Double($0)) } ?? .null,
            "rate_per_hour": s.ratePerHour.map { .number(Double($0)) } ?? .null,
            "created_at": .string(ISODateTime.format(epochSeconds: s.createdAt)),
        ]
        if let a {
            fields["dkim"] = .string(a.state.rawValue)
            fields["signing_domain"] = a.domain.map(JSONValue.string) ?? .null
            fields["return_path_aligned"] = a.returnPathAligned.map(JSONValue.bool) ?? .null
            fields["warnings"] = .array(a.warning.map { [.string($0)] } ?? [])
        }
        return .object(fields)
    }

    static func user(_ u: User) -> JSONValue {
        .object(["id": .number(Double(u.id)), "email": .string(u.email), "name": .string(u.name), "role": .string(u.role.rawValue),
                 "time_zone": .string(u.timeZone), "is_active": .bool(u.isActive)])
    }

    static func token(_ t: APIToken) -> JSONValue {
        .object(["id": .number(Double(t.id)), "name": .string(t.name), "prefix": .string(t.prefix),
                 "created_at": .string(ISODateTime.format(epochSeconds: t.createdAt)),
                 "last_used_at": t.lastUsedAt.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null,
                 "revoked_at": t.revokedAt.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null,
                 "expires_at": t.expiresAt.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null])
    }

    static func holdings(_ h: Holdings) -> JSONValue {
        .object(["records": .number(Double(h.records)), "mass_emails": .number(Double(h.massEmails)),
                 "open_tasks": .number(Double(h.openTasks)), "scheduled_calls": .number(Double(h.scheduledCalls)),
                 "views": .number(Double(h.views)), "lists": .number(Double(h.lists)), "templates": .number(Double(h.templates))])
    }

    static func importReport(_ r: ImportReport) -> JSONValue {
        .object([
            "rows_read": .number(Double(r.rowsRead)), "created": .number(Double(r.created)), "updated": .number(Double(r.updated)),
            "skipped": .number(Double(r.skipped)), "failed": .number(Double(r.failed)), "dry_run": .bool(r.dryRun),
            "committed": .bool(r.committed),
            "errors": .array(r.errors.map { .object(["line": .number(Double($0.line)), "field": .string($0.field), "reason": .string($0.reason)]) }),
        ])
    }
}

extension Present {
    /// `waiting` is shown only while the mass email or one of its follow-ups is sending.
    /// `warnings`: what stands between it and the inbox (an unsigned or unverified sender).
    /// `plannedSends`: for one sent in each recipient's time zone, how many go when (null in lists).
    /// `selectedRecords`: before its recipients are resolved, how many records they select now
    /// (null once resolved, and in lists).
    static func massEmail(_ m: MassEmail, figures f: MassEmailFigures, followUps: [FollowUpReport] = [], waiting: DeliveryWait? = nil,
                          warnings: [String] = [], plannedSends: [PlannedSend]? = nil, selectedRecords: Int? = nil,
                          abResults: [ABVariantResult]? = nil) -> JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null }
        let recipients: JSONValue = switch m.recipients {
        case .view(let id): .object(["view_id": .number(Double(id))])
        case .list(let id): .object(["list_id": .number(Double(id))])
        case .records(let ids): .object(["record_ids": .array(ids.map { .number(Double($0)) })])
        case .all: .object(["all": .bool(true)])
        }
        return .object([
            "id": .number(Double(m.id)), "name": .string(m.name), "module": .string(m.module),
            "owner_id": .number(Double(m.ownerID)), "template_id": .number(Double(m.templateID)),
            "sender_id": .number(Double(m.senderID)), "recipients": recipients,
            "status": .string(m.status.rawValue), "status_reason": m.statusReason.map(JSONValue.string) ?? .null,
            "scheduled_at": time(m.scheduledAt), "time_zone": .string(m.timeZone),
            "local_delivery": m.localDelivery.map {
                .object(["date": .string($0.date.description), "time": .string($0.timeText), "if_passed": .string($0.ifPassed.rawValue)])
            } ?? .null,
            "delivery_times": plannedSends.map { sends in
                .array(sends.map { .object(["at": .string(ISODateTime.format(epochSeconds: $0.at)), "messages": .number(Double($0.messages)),
                                            "waiting": .number(Double($0.waiting))]) })
            } ?? .null,
            "selected_records": selectedRecords.map { .number(Double($0)) } ?? .null,
            "started_at": time(m.startedAt), "finished_at": time(m.finishedAt), "resolved_at": time(m.resolvedAt),
            "created_at": time(m.createdAt), "modified_at": time(m.modifiedAt),
            "skipped": .object(Dictionary(uniqueKeysWithValues: SkipReason.allCases.map { ($0.rawValue, JSONValue.number(Double(m.skipped[$0] ?? 0))) })),
            "figures": figures(f),
            "trigger_actions": .array(m.triggerActions.map(TriggerActionInput.json)),
            "include_machine_events": .bool(m.triggersOnMachineEvents),
            "follow_ups": .array(m.followUps.map(FollowUpInput.json)),
            "ab_test": ABTestInput.json(m, results: abResults),
            "follow_up_status": .array(followUps.map(\.json)),
            "waiting": (m.status == .sending || followUps.contains { $0.status == .sending }) ? waiting?.json ?? .null : .null,
            "warnings": .array(warnings.map(JSONValue.string)),
        ])
    }

    static func figures(_ f: MassEmailFigures) -> JSONValue {
        .object([
            "recipients": .number(Double(f.recipients)), "queued": .number(Double(f[.queued])),
            "sending": .number(Double(f[.sending])), "sent": .number(Double(f[.sent])),
            "deferred": .number(Double(f[.deferred])), "uncertain": .number(Double(f[.uncertain])), "failed": .number(Double(f[.failed])),
            "bounced": .number(Double(f[.bounced])), "held": .number(Double(f[.held])),
            "opened": .number(Double(f.opened)), "machine_opened": .number(Double(f.machineOpened)),
            "clicked": .number(Double(f.clicked)), "machine_clicked": .number(Double(f.machineClicked)),
            "unsubscribed": .number(Double(f.unsubscribed)), "soft_bounced": .number(Double(f.softBounced)),
            "replied": .number(Double(f.replied)),
            "complained": .number(Double(f.complained)),
            "complaint_rate": f.complaintRate.map { .number($0) } ?? .null,
            "refused": .number(Double(f.refused)),
            "refused_by_reason": .object(f.refusedByReason.mapValues { .number(Double($0)) }),
        ])
    }

    static func task(_ t: CRMTask) -> JSONValue {
        .object([
            "id": .number(Double(t.id)), "module": .string(t.module), "record_id": .number(Double(t.recordID)),
            "subject": .string(t.subject), "due_date": t.dueDate.map { .string($0.description) } ?? .null,
            "status": .string(t.status.rawValue), "priority": .string(t.priority.rawValue),
            "assignee_id": .number(Double(t.assigneeID)), "mass_email_id": t.massEmailID.map { .number(Double($0)) } ?? .null,
            "created_at": .string(ISODateTime.format(epochSeconds: t.createdAt)),
            "modified_at": .string(ISODateTime.format(epochSeconds: t.modifiedAt)),
        ])
    }

    static func call(_ c: CRMCall) -> JSONValue {
        .object([
            "id": .number(Double(c.id)), "module": .string(c.module), "record_id": .number(Double(c.recordID)),
            "subject": .string(c.subject), "owner_id": .number(Double(c.ownerID)),
            "start_at": .string(ISODateTime.format(epochSeconds: c.startAt)), "status": .string(c.status.rawValue),
            "mass_email_id": c.massEmailID.map { .number(Double($0)) } ?? .null,
            "created_at": .string(ISODateTime.format(epochSeconds: c.createdAt)),
            "modified_at": .string(ISODateTime.format(epochSeconds: c.modifiedAt)),
        ])
    }

    static func message(_ r: MessageRow) -> JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null }
        return .object([
            "id": .number(Double(r.id)), "step": .number(Double(r.step)), "record_id": .number(Double(r.recordID)),
            "address": .string(r.address), "status": .string(r.status.rawValue), "attempts": .number(Double(r.attempts)),
            "next_attempt_at": r.status == .deferred || r.status == .uncertain ? .string(ISODateTime.format(epochSeconds: r.nextAttemptAt)) : .null,
            "smtp_code": r.code.map { .number(Double($0)) } ?? .null, "smtp_status": r.enhancedCode.map(JSONValue.string) ?? .null,
            "smtp_text": r.text.map(JSONValue.string) ?? .null,
            "sent_at": time(r.sentAt), "opened_at": time(r.openedAt), "opens": .number(Double(r.opens)),
            "machine_opens": .number(Double(r.machineOpens)), "clicked_at": time(r.clickedAt), "clicks": .number(Double(r.clicks)),
            "machine_clicks": .number(Double(r.machineClicks)), "unsubscribed_at": time(r.unsubscribedAt),
            "replied_at": time(r.repliedAt), "complained_at": time(r.complainedAt),
            "variant": r.variant.map { .string(ABTest.letter($0)) } ?? .null,
        ])
    }

    /// `{url (redacted), origin, editable}`.
    static func transport(_ t: MailSettings.Transport) -> JSONValue {
        .object(["url": .string(t.url.description), "origin": .string(t.origin.rawValue), "editable": .bool(t.editable)])
    }

    static func quota(_ q: MailSettings.Quota) -> JSONValue {
        .object(["daily_quota": q.limit.map { .number(Double($0)) } ?? .null, "used_today": .number(Double(q.usedToday)),
                 "time_zone": .string(q.timeZone.identifier)])
    }

    static func bounceSettings(_ b: MailSettings.Bounces) -> JSONValue {
        var webhooks: [String: JSONValue] = [:]
        for w in b.webhooks {
            webhooks[w.provider] = .object(["configured": .bool(w.configured), "secret_hint": w.secretHint.map(JSONValue.string) ?? .null,
                                            "path": .string("/webhooks/\(w.provider)")])
        }
        return .object([
            "domain": b.domain.map(JSONValue.string) ?? .null, "domain_origin": .string(b.domainOrigin), "editable": .bool(b.editable),
            "soft_bounce_count": .number(Double(b.softBounce.count)), "soft_bounce_days": .number(Double(b.softBounce.days)),
            "forward_replies": .bool(b.forwardReplies), "webhooks": .object(webhooks),
        ])
    }
}
