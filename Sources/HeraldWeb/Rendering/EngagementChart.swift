import Foundation

/// The chart of people's opens and clicks over time on a mass email's page: an SVG drawn on
/// the server, so it reads without JavaScript, with its figures in a table beside it for
/// screen readers.
struct EngagementChart {
    struct Bucket {
        var start: Int64
        var opens: Int
        var clicks: Int
    }

    /// Hourly buckets from the first to the last hour with events, or daily ones when that
    /// would be more than two weeks of hours.
    let buckets: [Bucket]
    let bucketSeconds: Int64

    init(hourly: [(hour: Int64, opens: Int, clicks: Int)]) {
        guard let first = hourly.first?.hour, let last = hourly.last?.hour else {
            buckets = []
            bucketSeconds = 3600
            return
        }
        let size: Int64 = (last - first) / 3600 >= 24 * 14 ? 86_400 : 3600
        let start = first / size * size
        var out = (0...((last / size * size - start) / size)).map { Bucket(start: start + $0 * size, opens: 0, clicks: 0) }
        for h in hourly {
            let i = Int((h.hour - start) / size)
            out[i].opens += h.opens
            out[i].clicks += h.clicks
        }
        buckets = out
        bucketSeconds = size
    }

    var isEmpty: Bool { buckets.isEmpty }

    /// The chart as inline SVG, its times labelled as `local` writes them.
    func svg(in local: LocalTime) -> String {
        let width = 640.0, height = 200.0, left = 40.0, bottom = 24.0, top = 10.0, right = 10.0
        let peak = max(1, buckets.map { max($0.opens, $0.clicks) }.max() ?? 1)
        let plotW = width - left - right, plotH = height - top - bottom
        let step = plotW / Double(max(buckets.count, 1))
        func x(_ i: Int) -> Double { left + step * (Double(i) + 0.5) }
        func y(_ n: Int) -> Double { top + plotH - plotH * Double(n) / Double(peak) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(height))" class="chart" role="img" \
            aria-labelledby="chart-title"><title id="chart-title">People's opens and clicks per \(bucketSeconds == 3600 ? "hour" : "day"), each time</title>
            <line x1="\(f(left))" y1="\(f(top + plotH))" x2="\(f(width - right))" y2="\(f(top + plotH))" class="axis"/>
            <line x1="\(f(left))" y1="\(f(top))" x2="\(f(left))" y2="\(f(top + plotH))" class="axis"/>
            <text x="\(f(left - 4))" y="\(f(top + 4))" text-anchor="end" class="label">\(peak)</text>
            <text x="\(f(left - 4))" y="\(f(top + plotH))" text-anchor="end" class="label">0</text>
            """
        let barW = max(1, min(step * 0.4, 14))
        for (i, b) in buckets.enumerated() {
            svg += """
                <rect x="\(f(x(i) - barW))" y="\(f(y(b.opens)))" width="\(f(barW))" height="\(f(top + plotH - y(b.opens)))" class="opens"><title>\(label(b.start, local)): \(b.opens) opens</title></rect>
                <rect x="\(f(x(i)))" y="\(f(y(b.clicks)))" width="\(f(barW))" height="\(f(top + plotH - y(b.clicks)))" class="clicks"><title>\(label(b.start, local)): \(b.clicks) clicks</title></rect>
                """
        }
        if let first = buckets.first, let last = buckets.last {
            svg += "<text x=\"\(f(left))\" y=\"\(f(height - 6))\" class=\"label\">\(label(first.start, local))</text>"
            if buckets.count > 1 {
                svg += "<text x=\"\(f(width - right))\" y=\"\(f(height - 6))\" text-anchor=\"end\" class=\"label\">\(label(last.start, local))</text>"
            }
        }
        return svg + "</svg>"
    }

    /// The same figures as rows, for the table under the chart.
    func rows(in local: LocalTime) -> [Row] {
        buckets.filter { $0.opens + $0.clicks > 0 }.map { Row(when: label($0.start, local), opens: $0.opens, clicks: $0.clicks) }
    }

    struct Row: PageModel {
        let when: String
        let opens: Int
        let clicks: Int
    }

    private func label(_ epoch: Int64, _ local: LocalTime) -> String {
        local.day(epoch, hour: bucketSeconds == 3600)
    }
}
