import Glibc
import Synchronization

/// The `Date` header's IMF-fixdate (RFC 9110 §5.6.7), made once a second and shared.
enum HTTPDate {
    private static let cache = Mutex<(second: Int64, text: String)>((-1, ""))

    /// `Sun, 06 Nov 1994 08:49:37 GMT` for the given second.
    static func now(epochSeconds: Int64) -> String {
        if let text = cache.withLock({ $0.second == epochSeconds ? $0.text : nil }) { return text }
        let text = format(epochSeconds)
        cache.withLock { $0 = (epochSeconds, text) }
        return text
    }

    static func format(_ epochSeconds: Int64) -> String {
        var time = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        // strftime's %a and %b follow the locale; a Swift program stays in the C locale.
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
