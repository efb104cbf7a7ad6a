import Foundation
import Testing
@testable import Mail

/// A hard bounce for a reason about the address suppresses it at once; nothing else does.
private func suppresses(_ recipient: BounceReport.Recipient) -> Bool {
    recipient.severity == .permanent && recipient.reason.isAddressLevel
}

@Suite struct AutomaticReplyTests {
    @Test func outOfOfficeRepliesAreNoBounces() {
        for text in [ReasonFixtures.outOfOffice, ReasonFixtures.outOfOfficeGerman, ReasonFixtures.outOfOfficeFrench, ReasonFixtures.readReceipt] {
            let message = MIMEPart(parsing: Array(text.utf8))
            #expect(BounceReport.isAutomaticReply(message), "\(message.header("Subject") ?? "")")
            #expect(BounceReport(message: message) == nil, "\(message.header("Subject") ?? "")")
        }
    }

    @Test func bouncesLabelledAutoSubmittedStayBounces() {
        // Postfix and Exim put Auto-Submitted: auto-replied on their reports.
        for text in [BounceFixtures.postfixReport, BounceFixtures.exim, ReasonFixtures.eximUnrouteable] {
            let message = MIMEPart(parsing: Array(text.utf8))
            #expect(message.header("Auto-Submitted") != nil)
            #expect(!BounceReport.isAutomaticReply(message))
            #expect(BounceReport(message: message) != nil)
        }
    }

    @Test func peopleAndNewslettersAreNeither() {
        for text in [BounceFixtures.reply, ReasonFixtures.newsletter] {
            let message = MIMEPart(parsing: Array(text.utf8))
            #expect(!BounceReport.isAutomaticReply(message))
            #expect(BounceReport(message: message) == nil)
        }
        // RFC 3834: "no" is a person's.
        #expect(!BounceReport.isAutomaticReply(MIMEPart(parsing: Array("Auto-Submitted: no\nSubject: Re: Hello\n\nThanks".utf8))))
    }

    @Test func subjects() {
        let automatic = ["Out of Office: Hello", "Automatic reply: Hello", "AutoReply: Hello", "Abwesenheitsnotiz: Hallo", "Réponse automatique : Bonjour",
                         "Respuesta automática: Hola", "Risposta automatica: Ciao", "Automatisch antwoord: Hallo", "Resposta automática: Olá",
                         "Autosvar: Hej", "Automaattinen vastaus: Hei", "Automatyczna odpowiedź: Cześć", "Автоответ: Привет", "自动回复: 你好",
                         "自動応答: こんにちは", "자동 응답: 안녕하세요", "Vacation: back Monday", "OOO until Monday", "Hello [Auto-Reply]"]
        for subject in automatic { #expect(BounceText.isAutoReplySubject(subject), "\(subject)") }
        let human = ["Re: Hello", "Automation meeting", "Reply about autos", "Oooh nice", "Your absence policy? Re: Hello", ""]
        for subject in human { #expect(!BounceText.isAutoReplySubject(subject), "\(subject)") }
    }

    @Test func delayNoticesAreSoftBounces() throws {
        let report = try #require(BounceReport(parsing: Array(ReasonFixtures.exchangeDelay.utf8)))
        #expect(report.recipients.map(\.severity) == [.transient])
        #expect(report.recipients.map(suppresses) == [false])
    }
}
