import Foundation

/// One status line on stderr for long work — bar, counts, rate, elapsed, ETA and a detail — redrawn
/// in place on a terminal and printed as plain lines (at most one a second) into a file or pipe.
final class ProgressLine {
    private let label: String
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var drawn = false
    private var lastPrint = Date.distantPast

    init(_ label: String = "") {
        self.label = label
    }

    /// `done` of `total` items since this line was made; rate and ETA are computed here.
    func update(_ done: Int, of total: Int, detail: String = "") {
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 && done < total ? elapsed / Double(done) * Double(total - done) : nil
        let rate = elapsed > 0 ? String(format: "%.2f/s", Double(done) / elapsed) : ""
        draw(done, of: total, detail: [rate, detail].filter { !$0.isEmpty }.joined(separator: "  "),
             elapsed: elapsed, eta: eta)
    }

    /// Draws with figures the caller knows better (a resumed training run's elapsed time and ETA).
    func draw(_ done: Int, of total: Int, detail: String, elapsed: Double, eta: Double?) {
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastPrint) >= (isTerminal ? 0.1 : 1) else { return }
        lastPrint = now
        let width = 24
        let filled = total > 0 ? min(width, width * max(done, 0) / total) : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        var text = label.isEmpty ? "" : label + " "
        text += "\(bar) \(done)/\(total)  \(detail)  elapsed \(Self.duration(elapsed))  ETA \(eta.map(Self.duration) ?? "--")"
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text).utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// A line of its own (a checkpoint, a warning) without breaking the bar.
    func note(_ text: String) {
        finish()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Ends the redrawn line.
    func finish() {
        if isTerminal && drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
