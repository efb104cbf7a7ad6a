import HeraldCore
import HeraldStore
import Mail

/// Makes the messages for claimed recipients of a mass email (or of one of its follow-ups):
/// renders from a template compiled once, with each recipient's record.
public protocol MessageMaker: Sendable {
    /// One result per claimed message, in the same order: its message, or why it could not be
    /// made (that message fails, the others go on).
    ///
    /// - Throws: when nothing of the mass email can be made (its template or sender is gone,
    ///   or no longer compiles); the engine then marks the mass email failed with the reason.
    func make(_ batch: [ClaimedMessage], of massEmail: MassEmail) async throws -> [Result<OutgoingMessage, HeraldError>]
}
