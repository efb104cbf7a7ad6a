import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ServiceLifecycle
import Synchronization

/// Open connections, in all and by client address.
final class ConnectionCounter: Sendable {
    private let counts = Mutex<(total: Int, byAddress: [String: Int])>((0, [:]))

    /// Counts a new connection from `address` if both caps allow it.
    func open(_ address: String, total: Int, perAddress: Int) -> Bool {
        counts.withLock { counts in
            guard counts.total < total, counts.byAddress[address, default: 0] < perAddress else { return false }
            counts.total += 1
            counts.byAddress[address, default: 0] += 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLock { counts in
            counts.total -= 1
            let left = counts.byAddress[address, default: 1] - 1
            counts.byAddress[address] = left > 0 ? left : nil
        }
    }
}
