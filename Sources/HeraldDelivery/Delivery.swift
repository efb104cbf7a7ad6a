/// Herald's delivery side as the web layer sees it: where mail goes (``TransportSource``),
/// so that a page can send a test, and, as they arrive, the scheduler and the sending
/// engine, so that a request can start, stop or wake them.
public struct Delivery: Sendable {
    public let transports: TransportSource

    public init(transports: TransportSource) {
        self.transports = transports
    }
}
