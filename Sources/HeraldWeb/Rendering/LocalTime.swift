import Foundation

/// Instants as a user reads and types them, in their time zone: the few fixed shapes
/// Herald's pages use, written and read by arithmetic.
///
/// A `DateFormatter` per value (what the pages did) costs an ICU formatter each time, and a
/// shared one is mutable state across requests; these shapes are fixed, English and numeric,
/// so the calendar arithmetic (the proleptic Gregorian calendar, from days since 1970) is all
/// that is needed, and the zone's offset at each instant comes from `TimeZone`, DST included.
struct LocalTime: Sendable {
    let zone: TimeZone

    init(zone: TimeZone) { self.zone = zone }

    /// The user's zone, or UTC when their zone's name is unknown to this machine.
    init(zoneNamed identifier: String) { self.zone = TimeZone(identifier: identifier) ?? .gmt }

    /// `5 Mar 2026, 14:05`: times on the mass email, suppression and activity pages.
    func readable(_ epochSeconds: Int64) -> String {
        let t = Civil(epochSeconds + offset(at: epochSeconds))
        return "\(t.day) \(Self.months[t.month - 1]) \(t.year), \(two(t.hour)):\(two(t.minute))"
    }

    /// `2026-03-05 14:05`: times in record fields and on the account page.
    func numeric(_ epochSeconds: Int64) -> String {
        let t = Civil(epochSeconds + offset(at: epochSeconds))
        return "\(four(t.year))-\(two(t.month))-\(two(t.day)) \(two(t.hour)):\(two(t.minute))"
    }

    /// `2026-03-05T14:05`: the value of a `datetime-local` input.
    func input(_ epochSeconds: Int64) -> String {
        let t = Civil(epochSeconds + offset(at: epochSeconds))
        return "\(four(t.year))-\(two(t.month))-\(two(t.day))T\(two(t.hour)):\(two(t.minute))"
    }

    /// `5 Mar`, or `5 Mar, 14:00` with `hour`: a chart's buckets.
    func day(_ epochSeconds: Int64, hour: Bool = false) -> String {
        let t = Civil(epochSeconds + offset(at: epochSeconds))
        return "\(t.day) \(Self.months[t.month - 1])" + (hour ? ", \(two(t.hour)):00" : "")
    }

    /// Reads what a `datetime-local` input sends (`2026-03-05T14:05`, with `:ss` or with a
    /// space for the `T`) as a time in this zone. A local time that a change of offset skips or
    /// repeats is read with one of the two offsets around the change.
    func parseInput(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16 || bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"),
              bytes.count == 16 || bytes[16] == UInt8(ascii: ":") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for byte in bytes[from..<from + count] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2),
              let second = bytes.count == 19 ? number(17, 2) : 0,
              (1...12).contains(month), day >= 1, day <= Civil.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        let local = Civil.days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        // The offset at the instant the local time would be in UTC is within a day of the
        // answer; the offset at the instant that gives is the answer's, except around a change.
        let instant = local - offset(at: local - offset(at: local))
        return Date(timeIntervalSince1970: TimeInterval(instant))
    }

    private func offset(at epochSeconds: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(epochSeconds))))
    }

    private func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    private func four(_ n: Int) -> String { n < 1000 ? String(repeating: "0", count: 4 - "\(n)".count) + "\(n)" : "\(n)" }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// A local date and time from seconds since 1970 as if the zone were UTC (H. Hinnant's
    /// `civil_from_days`, for any day of the proleptic Gregorian calendar).
    struct Civil {
        let year: Int, month: Int, day: Int, hour: Int, minute: Int

        init(_ localSeconds: Int64) {
            let days = localSeconds >= 0 ? localSeconds / 86_400 : (localSeconds - 86_399) / 86_400
            let seconds = Int(localSeconds - days * 86_400)
            hour = seconds / 3600
            minute = seconds % 3600 / 60
            let z = days + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let dayOfEra = z - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let shifted = (5 * dayOfYear + 2) / 153
            day = Int(dayOfYear - (153 * shifted + 2) / 5 + 1)
            month = Int(shifted < 10 ? shifted + 3 : shifted - 9)
            year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        }

        /// Days since 1970-01-01 of a date (`days_from_civil`).
        static func days(year: Int, month: Int, day: Int) -> Int64 {
            let y = Int64(month <= 2 ? year - 1 : year)
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let m = Int64(month)
            let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            return era * 146_097 + dayOfEra - 719_468
        }

        static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
        }
    }
}
