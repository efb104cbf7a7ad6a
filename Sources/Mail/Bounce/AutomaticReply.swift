extension BounceReport {
    /// Whether `message` is an automatic reply (an out-of-office or vacation notice, an
    /// autoresponder, a read receipt) rather than a bounce or a person's reply: it says nothing
    /// about the address and must neither suppress it nor count as engagement.
    ///
    /// Read from RFC 3834 `Auto-Submitted` (anything but `no`), the `X-Autoreply` and
    /// `X-Autorespond` family, `Precedence: auto_reply`, and subjects that out-of-office
    /// replies use in English, German, French, Spanish, Italian, Dutch, Portuguese, the
    /// Scandinavian languages, Finnish, Polish, Czech, Turkish, Russian, Chinese, Japanese and
    /// Korean. A delivery status notification is never one, though Postfix, Exim and others
    /// label theirs `Auto-Submitted: auto-replied`: a `delivery-status` part, or mail from
    /// `MAILER-DAEMON` (or `postmaster`, or the null sender, in the words of a bounce), stays a
    /// bounce. Neither is a complaint (``FeedbackReport``). A newsletter (`Precedence: bulk`) is
    /// mail, not a reply.
    public static func isAutomaticReply(_ message: MIMEPart) -> Bool {
        BounceText.isAutomaticReply(message, all: message.allParts)
    }
}

extension BounceText {
    /// Headers that autoresponders set, besides RFC 3834's: cPanel and Exim's autoreply
    /// (`X-Autorespond`), many webmail vacation features (`X-Autoreply: yes`), iCloud
    /// (`X-Apple-Action: vacation`).
    static let autoReplyHeaders = ["X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply", "X-AutoReply-From", "X-Mail-Autoreply", "X-Vacation"]

    /// Phrases that mark an automatic reply wherever they stand in the subject.
    static let autoReplySubjectPhrases = [
        "out of office", "out of the office", "automatic reply", "auto-reply", "autoreply", "auto reply", "auto-response",
        "autoresponse", "auto response", "automatic response", "autoresponder", "vacation reply", "on vacation",
        "away from the office", "away from my desk", "away from my email",
        "abwesenheitsnotiz", "automatische antwort", "abwesenheit", "nicht im büro",                   // German
        "réponse automatique", "reponse automatique", "absence du bureau", "message d'absence",       // French
        "respuesta automática", "respuesta automatica", "fuera de la oficina",                        // Spanish
        "risposta automatica", "fuori ufficio", "fuori sede",                                         // Italian
        "automatisch antwoord", "afwezigheidsbericht", "afwezig",                                     // Dutch
        "resposta automática", "resposta automatica", "fora do escritório",                           // Portuguese
        "autosvar", "automatiskt svar", "automatisk svar", "fraværende", "frånvaro",                  // Scandinavian
        "automaattinen vastaus", "poissa toimistolta",                                                // Finnish
        "automatyczna odpowiedź", "nieobecność",                                                      // Polish
        "automatická odpověď", "mimo kancelář",                                                       // Czech
        "otomatik yanıt", "otomatik cevap",                                                           // Turkish
        "автоответ", "автоматический ответ", "нет в офисе",                                           // Russian
        "自动回复", "自動回覆", "自動回复", "自動応答", "自動返信", "不在通知",                                  // Chinese, Japanese
        "자동 응답", "부재중",                                                                           // Korean
    ]

    /// Words that mark an automatic reply only at the start of the subject (`Absence: …`,
    /// `Vacation: …`), where a person's subject would hardly put them.
    static let autoReplySubjectPrefixes = ["auto:", "absence", "vacation", "away:", "ooo:", "ooo ", "abwesend", "abwesenheit", "afwezig", "ausente", "ausência", "congés"]

    static func isAutomaticReply(_ message: MIMEPart, all: [MIMEPart]) -> Bool {
        if isDeliveryStatusNotification(message, all: all) || FeedbackReport.isFeedbackReport(message, all: all) { return false }
        if isReadReceipt(message, all: all) { return true }
        // RFC 3834 §5: "no" is the only value a person's mail carries.
        if let auto = message.header("Auto-Submitted") {
            let keyword = auto.prefix { $0 != ";" && $0 != "(" }.trimmingSpaces.lowercased()
            if !keyword.isEmpty && keyword != "no" { return true }
        }
        for name in autoReplyHeaders {
            if let value = message.header(name)?.trimmingSpaces.lowercased(), value != "no", value != "false", value != "0" { return true }
        }
        if message.header("X-Apple-Action")?.lowercased().containsBytes("vacation") == true { return true }
        for name in ["Precedence", "X-Precedence"] {
            if let value = message.header(name)?.trimmingSpaces.lowercased(), value == "auto_reply" || value == "auto-reply" { return true }
        }
        return isAutoReplySubject(message.header("Subject") ?? "")
    }

    static let autoReplySubjectTable = PhraseTable([autoReplySubjectPhrases])

    static func isAutoReplySubject(_ subject: String) -> Bool {
        let lower = subject.lowercased().trimmingSpaces
        guard !lower.isEmpty else { return false }
        let bytes = Array(lower.utf8)
        if autoReplySubjectTable.firstGroup(in: bytes) != nil { return true }
        return autoReplySubjectPrefixes.contains { lower.hasPrefix($0) }
    }

    /// A delivery status notification: a `delivery-status` part or report, mail from
    /// `MAILER-DAEMON`, or from another mail system (postmaster, the null sender) in the words
    /// of a bounce.
    static func isDeliveryStatusNotification(_ message: MIMEPart, all: [MIMEPart]) -> Bool {
        if all.contains(where: { deliveryStatusTypes.contains($0.contentType) }) { return true }
        if message.contentType == "multipart/report", message.contentTypeParameter("report-type")?.lowercased() == "delivery-status" { return true }
        let from = message.header("From")?.lowercased() ?? ""
        if from.containsBytes("mailer-daemon") { return true }
        guard isFromMailSystem(message) else { return false }
        let text = Array(humanText(message).utf8.prefix(2000)).map(asciiLower)
        return looksLikeBounce(subject: message.header("Subject") ?? "", text: text[...])
    }
}
