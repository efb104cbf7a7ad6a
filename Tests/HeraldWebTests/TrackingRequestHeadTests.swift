@testable import HeraldWeb
import Testing

/// The fast path's head reader, table by table, without a socket: what it takes, what it
/// waits for, and what it leaves to the HTTP/1 decoder.
@Suite struct TrackingRequestHeadTests {
    func parse(_ text: String) -> TrackingRequestHead.Parse {
        Array(text.utf8).withUnsafeBytes { TrackingRequestHead.parse($0) }
    }

    func head(_ text: String) -> TrackingRequestHead? {
        if case .tracking(let head, let length) = parse(text) {
            #expect(length == text.utf8.count, "the whole head, no more: \(text)")
            return head
        }
        return nil
    }

    @Test func plainRequestsForThePixelAndTheTrapAreTaken() throws {
        let get = try #require(head("GET /t/o/abc?utm=1 HTTP/1.1\r\nHost: x\r\nUser-Agent:  Mail/1.0 \r\n\r\n"))
        #expect(get == TrackingRequestHead(isHead: false, target: "/t/o/abc?utm=1", userAgent: "Mail/1.0", keepAlive: true, isHTTP10: false))
        let trap = try #require(head("HEAD /t/t/abc HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n"))
        #expect(trap.isHead && trap.userAgent == nil && trap.keepAlive)
        #expect(head("GET /t/o/abc HTTP/1.1\r\n\r\n")?.target == "/t/o/abc", "no fields at all")
        #expect(head("GET /t/o/abc HTTP/1.1\r\nUser-Agent: first\r\nuser-agent: second\r\n\r\n")?.userAgent == "first")
    }

    @Test func theConnectionFollowsTheVersionAndTheConnectionField() {
        let table: [(String, keepAlive: Bool, isHTTP10: Bool)] = [
            ("HTTP/1.1", true, false),
            ("HTTP/1.1\r\nConnection: close", false, false),
            ("HTTP/1.1\r\nconnection: Keep-Alive, CLOSE", false, false),
            ("HTTP/1.0", false, true),
            ("HTTP/1.0\r\nConnection: keep-alive", true, true),
            ("HTTP/1.0\r\nConnection: te, Keep-Alive", true, true),
        ]
        for (rest, keepAlive, isHTTP10) in table {
            let text = "GET /t/o/abc " + rest + "\r\n\r\n"
            let parsed = head(text)
            #expect(parsed?.keepAlive == keepAlive, "\(rest)")
            #expect(parsed?.isHTTP10 == isHTTP10, "\(rest)")
        }
    }

    @Test func aHeadInPiecesIsWaitedFor() {
        let whole = "GET /t/o/abc HTTP/1.1\r\nHost: x\r\n\r\n"
        for cut in 1..<whole.utf8.count {
            #expect(parse(String(decoding: whole.utf8.prefix(cut), as: UTF8.self)) == .incomplete, "after \(cut) bytes")
        }
        #expect(parse("HEAD /t/") == .incomplete)
        #expect(parse("GET /t/o/" + String(repeating: "a", count: TrackingRequestHead.limit)) == .other, "too long to wait for")
    }

    @Test func theRestIsLeftToTheDecoder() {
        let others = [
            "POST /t/o/abc HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "GET /healthz HTTP/1.1\r\n\r\n",
            "GET /t/c/abc HTTP/1.1\r\n\r\n",
            "GET /t/oo HTTP/1.1\r\n\r\n",
            "P",
            "get /t/o/abc HTTP/1.1\r\n\r\n",
            "GET /t/o/abc HTTP/2.0\r\n\r\n",
            "GET /t/o/abc HTTP/1.1 \r\n\r\n",
            "GET /t/o/a\u{7F}c HTTP/1.1\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            "GET /t/o/abc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nHost x\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\n: x\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nHo st: x\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nHost: x\ny\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nHost: x\ry\r\n\r\n",
            "GET /t/o/abc HTTP/1.1\r\nHost: \u{01}\r\n\r\n",
        ]
        for text in others {
            #expect(parse(text) == .other, "\(text.debugDescription)")
        }
    }

    @Test func pipelinedRequestsAreReadOneHeadAtATime() {
        let first = "GET /t/o/abc HTTP/1.1\r\n\r\n"
        guard case .tracking(_, let length) = parse(first + "GET /healthz HTTP/1.1\r\n\r\n") else {
            Issue.record("the first request is a tracking one")
            return
        }
        #expect(length == first.utf8.count)
    }
}
