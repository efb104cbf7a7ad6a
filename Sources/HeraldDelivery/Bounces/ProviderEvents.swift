import Foundation
import HeraldCore

/// A bounce, complaint or delivery as an email provider's webhook reports it.
public struct ProviderEvent: Sendable, Hashable {
    public var address: String
    public var kind: Bounce.Kind
    public var status: String?
    public var action: String?
    public var diagnostic: String?
    /// The Message-ID Herald gave the message, when the provider echoes it.
    public var messageID: String?
    /// The provider's id of the event (or of its notification): a retried post has the same.
    public var eventID: String
    /// The event as the provider sent it (one element of a batch), kept to be viewed.
    public var raw: String = ""
}

/// Reads the webhook posts of Amazon SES (through SNS), Postmark, SendGrid and Mailgun into
/// ``ProviderEvent``s. Events of other types (opens, clicks, sends) are left out; a post
/// that is not the provider's shape is a ``HeraldError`` that says what was missing.
public enum ProviderEvents {
    /// What an SNS post is.
    public enum SNS: Sendable, Hashable {
        case events([ProviderEvent])
        /// SNS asks to confirm the subscription: an admin opens `subscribeURL` once (Herald does
        /// not fetch URLs named in a request).
        case subscriptionConfirmation(subscribeURL: String)
    }

    /// Amazon SES notifications, delivered by SNS: the SES event is a JSON string in `Message`.
    public static func ses(_ body: JSONValue) throws -> SNS {
        let type = body["Type"]?.stringValue ?? ""
        // After an unsubscribe SNS sends a URL to subscribe again: nothing to confirm or record.
        if type == "UnsubscribeConfirmation" { return .events([]) }
        if type == "SubscriptionConfirmation" {
            guard let url = body["SubscribeURL"]?.stringValue else { throw HeraldError.invalid(field: "SubscribeURL", "missing") }
            return .subscriptionConfirmation(subscribeURL: url)
        }
        let notification: JSONValue
        if type == "Notification" {
            guard let text = body["Message"]?.stringValue, let decoded = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                throw HeraldError.invalid(field: "Message", "an SNS notification carries the SES event as a JSON string in Message")
            }
            notification = decoded
        } else {
            // Raw message delivery: the SES event itself.
            notification = body
        }
        let kind = notification["notificationType"]?.stringValue ?? notification["eventType"]?.stringValue ?? ""
        // The SES event, not the SNS envelope around it, is what is kept.
        let raw = notification.jsonText
        let mail = notification["mail"]
        let ourID = mail?["commonHeaders"]?["messageId"]?.stringValue
            ?? mail?["headers"]?.arrayValue?.first { $0["name"]?.stringValue?.lowercased() == "message-id" }?["value"]?.stringValue
        let eventBase = body["MessageId"]?.stringValue ?? mail?["messageId"]?.stringValue ?? ""
        return .events(try sesEvents(kind: kind, notification, ourID: ourID, eventBase: eventBase).map {
            var event = $0
            event.raw = raw
            return event
        })
    }

    private static func sesEvents(kind: String, _ notification: JSONValue, ourID: String?, eventBase: String) throws -> [ProviderEvent] {
        switch kind {
        case "Bounce":
            let bounce = notification["bounce"]
            let permanent = bounce?["bounceType"]?.stringValue == "Permanent"
            return ((bounce?["bouncedRecipients"]?.arrayValue ?? []).compactMap { recipient -> ProviderEvent? in
                guard let address = recipient["emailAddress"]?.stringValue else { return nil }
                let status = recipient["status"]?.stringValue
                return ProviderEvent(address: address, kind: permanent ? .hard : .soft, status: status,
                                     action: recipient["action"]?.stringValue ?? (permanent ? "failed" : "delayed"),
                                     diagnostic: recipient["diagnosticCode"]?.stringValue ?? bounce?["bounceSubType"]?.stringValue,
                                     messageID: ourID, eventID: "ses:" + (bounce?["feedbackId"]?.stringValue ?? eventBase))
            })
        case "Complaint":
            let complaint = notification["complaint"]
            return ((complaint?["complainedRecipients"]?.arrayValue ?? []).compactMap { recipient -> ProviderEvent? in
                guard let address = recipient["emailAddress"]?.stringValue else { return nil }
                return ProviderEvent(address: address, kind: .complaint, action: "complaint",
                                     diagnostic: complaint?["complaintFeedbackType"]?.stringValue, messageID: ourID,
                                     eventID: "ses:" + (complaint?["feedbackId"]?.stringValue ?? eventBase))
            })
        case "Delivery":
            return ((notification["delivery"]?["recipients"]?.arrayValue ?? []).compactMap { recipient -> ProviderEvent? in
                guard let address = recipient.stringValue else { return nil }
                return ProviderEvent(address: address, kind: .delivery, status: "2.0.0", action: "delivered",
                                     diagnostic: notification["delivery"]?["smtpResponse"]?.stringValue, messageID: ourID,
                                     eventID: "ses:delivery:" + eventBase)
            })
        case "":
            throw HeraldError.invalid(field: "notificationType", "not an SES notification (no notificationType or eventType)")
        default:
            return []
        }
    }

    /// Postmark's bounce, spam complaint and delivery webhooks (one event a post).
    public static func postmark(_ body: JSONValue) throws -> [ProviderEvent] {
        try postmarkEvents(body).map { var event = $0; event.raw = body.jsonText; return event }
    }

    private static func postmarkEvents(_ body: JSONValue) throws -> [ProviderEvent] {
        guard let recordType = body["RecordType"]?.stringValue else {
            throw HeraldError.invalid(field: "RecordType", "not a Postmark webhook (no RecordType)")
        }
        let id = body["ID"].map { $0.stringValue ?? $0.numberText } ?? body["MessageID"]?.stringValue ?? ""
        let ourID = body["Headers"]?.arrayValue?.first { $0["Name"]?.stringValue?.lowercased() == "message-id" }?["Value"]?.stringValue
        switch recordType {
        case "Bounce":
            guard let address = body["Email"]?.stringValue else { throw HeraldError.invalid(field: "Email", "missing") }
            let type = body["Type"]?.stringValue ?? ""
            // Postmark's hard types; its soft and transient ones (SoftBounce, Transient, DnsError, …) are soft.
            let hard = ["HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Blocked", "SpamNotification"].contains(type)
            return [ProviderEvent(address: address, kind: hard ? .hard : .soft, status: nil, action: type,
                                  diagnostic: body["Details"]?.stringValue ?? body["Description"]?.stringValue,
                                  messageID: ourID, eventID: "postmark:bounce:\(id)")]
        case "SpamComplaint":
            guard let address = body["Email"]?.stringValue else { throw HeraldError.invalid(field: "Email", "missing") }
            return [ProviderEvent(address: address, kind: .complaint, action: "complaint", diagnostic: body["Details"]?.stringValue,
                                  messageID: ourID, eventID: "postmark:complaint:\(id)")]
        case "Delivery":
            guard let address = body["Recipient"]?.stringValue else { throw HeraldError.invalid(field: "Recipient", "missing") }
            return [ProviderEvent(address: address, kind: .delivery, status: "2.0.0", action: "delivered",
                                  diagnostic: body["Details"]?.stringValue, messageID: ourID,
                                  eventID: "postmark:delivery:\(body["MessageID"]?.stringValue ?? id)")]
        default:
            return []
        }
    }

    /// SendGrid's event webhook: an array of events; `smtp-id` echoes the Message-ID.
    public static func sendgrid(_ body: JSONValue) throws -> [ProviderEvent] {
        guard let events = body.arrayValue else { throw HeraldError.invalid(field: "body", "a SendGrid event webhook posts an array of events") }
        return try events.enumerated().compactMap { (index, event) -> ProviderEvent? in
            try sendgridEvent(index, event).map { var found = $0; found.raw = event.jsonText; return found }
        }
    }

    private static func sendgridEvent(_ index: Int, _ event: JSONValue) throws -> ProviderEvent? {
        guard let name = event["event"]?.stringValue else { throw HeraldError.invalid(field: "[\(index)].event", "missing") }
        guard let address = event["email"]?.stringValue else { throw HeraldError.invalid(field: "[\(index)].email", "missing") }
        let status = event["status"]?.stringValue
        let id = "sendgrid:" + (event["sg_event_id"]?.stringValue ?? "\(event["sg_message_id"]?.stringValue ?? "")/\(name)/\(address)")
        let ourID = event["smtp-id"]?.stringValue
        switch name {
        case "bounce":
            // type "blocked" is a refusal that may pass later; "bounce" is for good.
            let kind: Bounce.Kind = event["type"]?.stringValue == "blocked" ? .soft : Bounce.kind(status: status, action: "failed")
            return ProviderEvent(address: address, kind: kind, status: status, action: event["type"]?.stringValue ?? "bounce",
                                 diagnostic: event["reason"]?.stringValue, messageID: ourID, eventID: id)
        case "deferred":
            return ProviderEvent(address: address, kind: .soft, status: status, action: "delayed",
                                 diagnostic: event["response"]?.stringValue, messageID: ourID, eventID: id)
        case "spamreport":
            return ProviderEvent(address: address, kind: .complaint, action: "complaint", messageID: ourID, eventID: id)
        case "delivered":
            return ProviderEvent(address: address, kind: .delivery, status: "2.0.0", action: "delivered",
                                 diagnostic: event["response"]?.stringValue, messageID: ourID, eventID: id)
        default:
            return nil
        }
    }

    /// Mailgun's webhooks: one event in `event-data`.
    public static func mailgun(_ body: JSONValue) throws -> [ProviderEvent] {
        try mailgunEvents(body).map { var event = $0; event.raw = body.jsonText; return event }
    }

    private static func mailgunEvents(_ body: JSONValue) throws -> [ProviderEvent] {
        guard let data = body["event-data"], let name = data["event"]?.stringValue else {
            throw HeraldError.invalid(field: "event-data.event", "not a Mailgun webhook (no event-data.event)")
        }
        guard let address = data["recipient"]?.stringValue else { throw HeraldError.invalid(field: "event-data.recipient", "missing") }
        let status = data["delivery-status"]
        let enhanced = status?["enhanced-code"]?.stringValue
            ?? status?["code"].flatMap { code -> String? in
                guard let number = code.numberValue else { return nil }
                return number >= 500 ? "5.0.0" : number >= 400 ? "4.0.0" : nil
            }
        let diagnostic = status?["description"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? status?["message"]?.stringValue
        var ourID = data["message"]?["headers"]?["message-id"]?.stringValue
        if let bare = ourID, !bare.hasPrefix("<") { ourID = "<\(bare)>" }
        let id = "mailgun:" + (data["id"]?.stringValue ?? "\(name)/\(address)")
        switch name {
        case "failed":
            let permanent = data["severity"]?.stringValue == "permanent"
            return [ProviderEvent(address: address, kind: permanent ? .hard : .soft, status: enhanced, action: permanent ? "failed" : "delayed",
                                  diagnostic: diagnostic, messageID: ourID, eventID: id)]
        case "complained":
            return [ProviderEvent(address: address, kind: .complaint, action: "complaint", messageID: ourID, eventID: id)]
        case "delivered":
            return [ProviderEvent(address: address, kind: .delivery, status: "2.0.0", action: "delivered", diagnostic: diagnostic,
                                  messageID: ourID, eventID: id)]
        default:
            return []
        }
    }
}

extension JSONValue {
    /// The member `key` of an object; nil for anything else.
    subscript(key: String) -> JSONValue? { objectValue?[key] }
    var numberValue: Double? {
        if case .number(let number) = self { return number }
        return nil
    }
    /// The value as JSON text, keys sorted.
    var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
    var numberText: String {
        if case .number(let number) = self { return String(Int64(number)) }
        return ""
    }
}
