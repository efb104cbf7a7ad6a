@testable import HeraldCore
import Testing

@Suite struct LinkTrackingTests {
    @Test func trackableLinksBecomeClickTagsAndTheRestStayAsWritten() {
        let tracked = LinkTracking(html: """
            <html><body><p><a href="https://example.com/a?x=1&amp;y=2">A</a>
            <A class=x HREF='http://example.com/b'>B</A>
            <a href=https://example.com/c>C</a>
            <a href="https://example.com/private" data-herald-notrack>no</a>
            <a href="mailto:sales@example.com">mail</a> <a href="tel:+4930123">call</a> <a href="#top">top</a>
            <a href="https://example.com/u/{{id}}">personal</a>
            <a name="anchor">plain</a> <abbr title="https://x.example">x</abbr>
            </p></body></html>
            """)
        #expect(tracked.links == ["https://example.com/a?x=1&y=2", "http://example.com/b", "https://example.com/c"])
        #expect(tracked.html.contains(#"<a href="{{herald_click_0}}">A</a>"#))
        #expect(tracked.html.contains(#"<A class=x HREF="{{herald_click_1}}">B</A>"#))
        #expect(tracked.html.contains(#"<a href="{{herald_click_2}}">C</a>"#))
        for untouched in [#"href="https://example.com/private" data-herald-notrack"#, #"href="mailto:sales@example.com""#,
                          #"href="tel:+4930123""#, ##"href="#top""##, #"href="https://example.com/u/{{id}}""#,
                          #"<abbr title="https://x.example">"#] {
            #expect(tracked.html.contains(untouched), "\(untouched)")
        }
        // The pixel, the trap and an unsubscribe link go inside the body, at its end.
        let tail = tracked.html[tracked.html.range(of: "</p>")!.upperBound...]
        #expect(tail.contains("{{unsubscribe_url}}"))
        #expect(tail.contains(#"<img src="{{herald_open_url}}" width="1" height="1""#))
        #expect(tail.contains(#"href="{{herald_trap_url}}" style="display:none"#))
        #expect(tracked.html.hasSuffix("</body></html>"))
    }

    @Test func aTemplatesOwnUnsubscribeLinkIsKeptAndNotTracked() {
        let tracked = LinkTracking(html: #"<p>Bye? <a href="{{unsubscribe_url}}">Leave</a></p>"#)
        #expect(tracked.links.isEmpty)
        #expect(tracked.html.components(separatedBy: "{{unsubscribe_url}}").count == 2, "no second unsubscribe link")
        #expect(LinkTracking.text("Hi\n{{ unsubscribe_url }}") == "Hi\n{{ unsubscribe_url }}")
        #expect(LinkTracking.text("Hi") == "Hi\n\nUnsubscribe: {{unsubscribe_url}}\n")
    }

    @Test func aTrackedTemplateRendersTheEnginesURLsAndKeepsRealAddressesInTheText() throws {
        let compiled = try CompiledTemplate(
            subject: "Hi", html: #"<p>Read <a href="https://example.com/news">the news</a>, {{first_name}}</p>"#, text: nil,
            module: BuiltinModules.contacts, extraNames: MailTemplate.engineNames, tracking: true)
        #expect(compiled.trackedLinks == ["https://example.com/news"])
        let mail = compiled.render(MergeValues(fields: ["first_name": "Ada"], extra: [
            "herald_click_0": "https://t.example/c/1", "herald_open_url": "https://t.example/o/1",
            "herald_trap_url": "https://t.example/t/1", "unsubscribe_url": "https://t.example/u/1",
        ]))
        #expect(mail.html.contains(#"<a href="https://t.example/c/1">the news</a>, Ada"#))
        #expect(mail.html.contains(#"src="https://t.example/o/1""#))
        #expect(mail.html.contains(#"href="https://t.example/u/1""#))
        #expect(mail.text.contains("the news (https://example.com/news)"), "the text part shows where a link goes")
        #expect(mail.text.contains("Unsubscribe: https://t.example/u/1"))
        #expect(!mail.text.contains("t.example/o/"))
    }
}

@Suite struct MachineRulesTests {
    let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

    @Test func aPersonsBrowserLaterThanTheQuietWindowIsAPerson() {
        #expect(MachineRules.machineReason(.init(userAgent: browser, secondsAfterDelivery: 60)) == nil)
        #expect(MachineRules.machineReason(.init(userAgent: browser, secondsAfterDelivery: nil)) == nil)
    }

    @Test(arguments: [
        (MachineRules.Hit(isHead: true, userAgent: "Mozilla/5.0 (X11) Firefox/128.0", secondsAfterDelivery: 600), "HEAD request"),
        (MachineRules.Hit(userAgent: "Mozilla/5.0", secondsAfterDelivery: 600), "privacy proxy (Apple Mail Privacy Protection)"),
        (MachineRules.Hit(userAgent: nil, secondsAfterDelivery: 600), "no user agent"),
        (MachineRules.Hit(userAgent: "Mozilla/5.0 (compatible; Barracuda Sentinel)", secondsAfterDelivery: 600),
         "user agent of a scanner (barracuda)"),
        (MachineRules.Hit(userAgent: "python-requests/2.31", secondsAfterDelivery: 600), "user agent of a scanner (python-)"),
        (MachineRules.Hit(userAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0", secondsAfterDelivery: 2),
         "within 5 seconds of delivery"),
        (MachineRules.Hit(userAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0", isTrap: true, secondsAfterDelivery: 600),
         "followed the hidden link"),
    ])
    func machinesAreNamedWithTheirReason(hit: MachineRules.Hit, reason: String) {
        #expect(MachineRules.machineReason(hit) == reason)
    }

    /// The byte search finds what a case-insensitive `contains` finds, the first pattern first.
    @Test func theScannerSearchAgreesWithAPlainOne() {
        let agents = [browser, "", "b", "bot", "BOT", "xbot", "robotic", "Mozilla/5.0 (compatible; Googlebot/2.1)", "curl/8.5.0",
                      "CURL", "Mozilla/5.0 SafeLinks", "Ünïcödé Bärracuda", "axios/", "axios", "Go-http-client/1.1",
                      "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/126.0", "zgra", "ZGRAB", "Java/17 crawler"]
        var memo = MachineRules.AgentMemo()
        for agent in agents + agents {
            let plain = MachineRules.machineAgents.first { agent.lowercased().contains($0) }
            #expect(MachineRules.knownMachine(agent) == plain, "\(agent)")
            #expect(memo.scanner(in: agent) == plain, "\(agent), remembered")
        }
    }

    @Test func theQuietWindowCanBeTurnedOff() {
        #expect(MachineRules.machineReason(.init(userAgent: browser, secondsAfterDelivery: 0), quietSeconds: 0) == nil)
    }
}
