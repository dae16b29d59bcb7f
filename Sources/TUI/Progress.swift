import Foundation

/// A progress bar with percentage, counts, rate-based ETA and elapsed time. Callers pass the time
/// with each update (seconds on any monotonic clock), which keeps it deterministic under test.
public final class ProgressBar: View {
    public var label: String
    public private(set) var completed: Double = 0
    public private(set) var total: Double
    public var unit: String
    private var start: (time: Double, completed: Double)?
    private var latest: Double = 0

    public init(_ label: String, total: Double, unit: String = "") {
        self.label = label
        self.total = total
        self.unit = unit
    }

    public func update(completed: Double, total: Double? = nil, now: Double) {
        if let total { self.total = total }
        if start == nil || completed < self.completed { start = (now, completed) }
        self.completed = completed
        latest = now
    }

    public var fraction: Double { total > 0 ? min(1, max(0, completed / total)) : 0 }

    /// Seconds left at the average rate since the first update, or nil before a rate is known.
    public var eta: Double? {
        guard let s = start, latest > s.time, completed > s.completed, total > 0 else { return nil }
        let rate = (completed - s.completed) / (latest - s.time)
        return max(0, (total - completed) / rate)
    }

    public var elapsed: Double { start.map { latest - $0.time } ?? 0 }

    /// "1:05", "12:00", "1:02:03".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        let base = Style(.text, on: .surface)
        canvas.fill(style: base)
        guard canvas.width > 0 else { return }
        let pct = String(format: "%3.0f%%", fraction * 100)
        let counts = "\(NumberFormat.count(completed))/\(NumberFormat.count(total))\(unit.isEmpty ? "" : " " + unit)"
        let time = fraction >= 1 ? "done in \(Self.duration(elapsed))" : (eta.map { "ETA \(Self.duration($0))" } ?? "ETA --:--")
        let tail = " \(pct)  \(counts)  \(time)"
        var x = 0
        if !label.isEmpty { x = canvas.write(TextLayout.truncate(label, to: canvas.width / 4) + " ", x: 0, y: 0, style: base.fg(.muted)) }
        let barWidth = canvas.width - x - DisplayWidth.of(tail)
        if barWidth >= 4 {
            // Eighth blocks give the bar sub-cell resolution.
            let eighths = Int((fraction * Double(barWidth * 8)).rounded())
            let partial: [Character] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
            for i in 0..<barWidth {
                let filled = eighths - i * 8
                let ch: Character = filled >= 8 ? "█" : (filled > 0 ? partial[filled] : "░")
                canvas.put(ch, x: x + i, y: 0, style: Style(filled > 0 ? (fraction >= 1 ? .success : .accent) : .border, on: .surface))
            }
            x += barWidth
        }
        canvas.write(tail, x: x, y: 0, style: base)
    }
}
