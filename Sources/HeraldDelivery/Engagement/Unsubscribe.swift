import HeraldCore
import HeraldStore

extension EngagementStore {
    /// Unsubscribes the recipient of `target`'s message (see ``unsubscribe(_:in:source:how:at:)``),
    /// finding its module and where its address lives; the unsubscribe page, the one-click POST
    /// and mail to the `List-Unsubscribe` address all come here.
    @discardableResult
    public func unsubscribe(_ target: UnsubscribeTarget, how: String, modules: ModuleStore) async throws -> EngagementEvent? {
        let all = try await modules.all()
        guard let module = all.first(where: { $0.apiName == target.module }) else { return nil }
        return try await unsubscribe(target, in: module, source: RecipientAddressSource.of(module, among: all), how: how)
    }
}
