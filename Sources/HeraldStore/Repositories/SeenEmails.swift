import Foundation
import HeraldCore
import SQLKit

/// The addresses an import has seen so far, shared by its batches without copying.
///
/// `@unchecked Sendable` is sound: one import owns it, and its batches run one after another
/// (each awaits the previous transaction), so it is never touched by two tasks at once.
/// Passing the set in and out of each batch's transaction instead would copy it every time.
final class SeenEmails: @unchecked Sendable {
    var emails = CompactStringSet()
}
