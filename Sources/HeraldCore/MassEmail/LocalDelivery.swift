import Foundation

/// "Deliver at 09:00 in each recipient's time zone on 2027-03-28": one wall-clock time on one
/// date, which becomes a different instant for each zone among the recipients.
///
/// A recipient's zone is ``zone(field:country:fallback:)``'s; the instant its message is
/// queued for is ``sendTime(in:)``'s. Where that time had already passed when the mass email
/// was saved, ``ifPassed`` says what the user chose.
public struct LocalDelivery: Sendable, Hashable, Codable {
    /// What happens in a zone whose time had already passed when the mass email was saved.
    public enum IfPassed: String, Sendable, Hashable, Codable, CaseIterable {
        /// Its recipients get the message at once.
        case sendAtOnce = "send_at_once"
        /// Its recipients get the message at the same time the next day.
        case nextDay = "next_day"

        public var label: String {
            switch self {
            case .sendAtOnce: "send at once"
            case .nextDay: "send at that time the next day"
            }
        }
    }

    public var date: LocalDate
    public var hour: Int
    public var minute: Int
    public var ifPassed: IfPassed
    /// When the mass email was saved (epoch seconds): "passed" means passed by then, so a
    /// zone's time that comes during resolution is not pushed to the next day.
    public var savedAt: Int64

    public init(date: LocalDate, hour: Int, minute: Int, ifPassed: IfPassed, savedAt: Int64) {
        self.date = date
        self.hour = hour
        self.minute = minute
        self.ifPassed = ifPassed
        self.savedAt = savedAt
    }

    /// "09:00".
    public var timeText: String { String(format: "%02d:%02d", hour, minute) }

    /// The instant the time falls on in `zone` on `date`. A time that a daylight-saving change
    /// skips in that zone is taken as the same time after the change (02:30 becomes 03:30).
    public func instant(on date: LocalDate, in zone: TimeZone) -> Int64 {
        // The wall time read as if it were UTC, less the zone's offset at the instant: with a
        // change near that day there are two offsets to try. Both fitting is a repeated hour
        // (the first is taken); neither, a skipped one (taken after the jump).
        let wall = WallClock.epochSeconds(date.startOfDay(in: .gmt)) + Int64(hour * 3600 + minute * 60)
        let offsets = Set([-50_400, 0, 50_400].map { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(wall + $0)))) })
        let fitting = offsets.map { wall - $0 }.filter { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval($0)))) == wall - $0 }
        return fitting.min() ?? wall - offsets.min()!
    }

    /// When a recipient in `zone` is sent the message.
    public func sendTime(in zone: TimeZone) -> Int64 {
        let planned = instant(on: date, in: zone)
        guard planned < savedAt else { return planned }
        switch ifPassed {
        case .sendAtOnce: return savedAt
        case .nextDay: return instant(on: date.adding(days: 1), in: zone)
        }
    }

    /// The first and last instant the time falls on in any zone on `date`: the mass email
    /// starts (and resolves its recipients) at the first.
    public var span: (first: Int64, last: Int64) {
        var first = Int64.max
        var last = Int64.min
        for zone in Self.zones {
            let t = instant(on: date, in: zone)
            first = min(first, t)
            last = max(last, t)
        }
        return (first, last)
    }

    /// Every zone Herald offers (``TimeZoneNames``), once.
    static let zones: [TimeZone] = TimeZoneNames.all.compactMap(TimeZone.init(identifier:))

    /// A recipient's zone: the record's time-zone field when set to a zone; else the zone most
    /// people of its country live in (``CountryTimeZones``); else `fallback` (the
    /// organisation's zone).
    public static func zone(field: String?, country: String?, fallback: TimeZone) -> TimeZone {
        if let field, !field.isEmpty, let zone = TimeZone(identifier: field) { return zone }
        if let country, let name = CountryTimeZones.zone(for: country), let zone = TimeZone(identifier: name) { return zone }
        return fallback
    }
}
