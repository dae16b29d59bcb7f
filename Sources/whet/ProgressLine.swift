import Foundation

/// A one-line progress bar with rate and ETA on stderr, redrawn in place on a terminal and
/// printed as plain lines (at most one every few seconds) when stderr is a file or a pipe.
final class ProgressLine {
    private let label: String
    private let total: Int
    private let start = Date()
    private let interactive = isatty(STDERR_FILENO) != 0
    private var lastPrint = Date.distantPast

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 0)
    }

    /// Reports `done` of `total` items; `detail` is shown after the bar (e.g. a running accuracy).
    func update(_ done: Int, detail: String = "") {
        let now = Date()
        let finished = done >= total
        guard finished || now.timeIntervalSince(lastPrint) >= (interactive ? 0.1 : 5) else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let width = 24
        let filled = min(width, Int(fraction * Double(width)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = done > 0 && !finished ? Self.duration(elapsed / Double(done) * Double(total - done)) : "--"
        var line = "\(label) \(bar) \(done)/\(total)  \(String(format: "%.2f", rate))/s  elapsed \(Self.duration(elapsed))  ETA \(eta)"
        if !detail.isEmpty { line += "  \(detail)" }
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line + (finished ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
