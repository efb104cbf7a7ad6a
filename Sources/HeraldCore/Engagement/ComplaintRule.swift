import Foundation

/// When complaints pause a mass email: once at least ``minimumDelivered`` messages were
/// delivered, a complaint rate above the threshold. Gmail and Yahoo want bulk senders under
/// 0.3 % (February 2024); over it, mail starts going to spam for every recipient, so the
/// rest of a mass email that people report that often is held for a person to look at.
public enum ComplaintRule {
    /// In percent.
    public static let defaultThreshold = 0.3
    /// Below this many delivered, a rate says too little (3 complaints of 500 are 0.6 %).
    public static let minimumDelivered = 1000

    public static func shouldPause(complaints: Int, delivered: Int, thresholdPercent: Double) -> Bool {
        delivered >= minimumDelivered && Double(complaints) * 100 > Double(delivered) * thresholdPercent
    }

    /// The rate in percent, or nil before anything was delivered.
    public static func rate(complaints: Int, delivered: Int) -> Double? {
        delivered == 0 ? nil : Double(complaints) * 100 / Double(delivered)
    }

    /// `0.3%`, `0.05%`, `1.2%` (no space, as every rate on the pages): two significant figures under one percent.
    public static func format(_ percent: Double) -> String {
        let text = percent >= 1 || percent == 0 ? String(format: "%.1f", percent) : String(format: "%.2g", percent)
        return text + "%"
    }
}
