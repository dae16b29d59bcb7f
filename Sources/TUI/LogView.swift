/// A scrolling log of lines, each with a role (text, muted, warning, error…). Follows the tail until
/// the user scrolls up; End follows again. Long lines wrap. Keeps at most `capacity` lines.
public final class LogView: View {
    public private(set) var entries: [(text: String, role: StyleRole)] = []
    public var capacity: Int
    /// Visual rows scrolled up from the bottom; 0 follows the tail.
    public private(set) var offsetFromBottom = 0
    private var lastHeight = 1
    private var lastWidth = 80

    public init(capacity: Int = 5000) { self.capacity = max(1, capacity) }

    public var acceptsFocus: Bool { true }
    public var keyHints: [KeyHint] { [KeyHint("↑↓ PgUp/PgDn", "scroll"), KeyHint("End", "follow")] }
    public var isFollowing: Bool { offsetFromBottom == 0 }

    public func append(_ text: String, role: StyleRole = .text) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            entries.append((String(line), role))
            // While scrolled back, keep the same lines on screen as new ones arrive below.
            if offsetFromBottom > 0 { offsetFromBottom = min(Int.max / 4, offsetFromBottom + max(1, TextLayout.wrap(String(line), width: lastWidth).count)) }
        }
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    public func clear() { entries.removeAll(); offsetFromBottom = 0 }

    public func handle(_ event: InputEvent) -> EventResult {
        switch event {
        case .key(let k) where k.modifiers.isEmpty:
            switch k.key {
            case .up: offsetFromBottom += 1
            case .down: offsetFromBottom = max(0, offsetFromBottom - 1)
            case .pageUp: offsetFromBottom += max(1, lastHeight - 1)
            case .pageDown: offsetFromBottom = max(0, offsetFromBottom - max(1, lastHeight - 1))
            case .home: offsetFromBottom = Int.max / 4
            case .end: offsetFromBottom = 0
            default: return .ignored
            }
            return .handled
        case .mouse(let m) where m.button == .wheelUp: offsetFromBottom += 3; return .handled
        case .mouse(let m) where m.button == .wheelDown: offsetFromBottom = max(0, offsetFromBottom - 3); return .handled
        default: return .ignored
        }
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        canvas.fill(style: Style(.text, on: .surface))
        guard canvas.width > 0, canvas.height > 0 else { return }
        lastHeight = canvas.height
        lastWidth = canvas.width
        // Wrap only as much as needed from the bottom.
        var rows: [(String, StyleRole)] = []
        let need = canvas.height + offsetFromBottom
        for e in entries.reversed() {
            let wrapped = TextLayout.wrap(e.text, width: canvas.width)
            for l in wrapped.reversed() { rows.append((l, e.role)) }
            if rows.count >= need { break }
        }
        let maxOffset = max(0, rows.count - canvas.height)
        if rows.count < need { offsetFromBottom = min(offsetFromBottom, maxOffset) }
        let visible = rows.dropFirst(offsetFromBottom).prefix(canvas.height).reversed()
        let top = canvas.height - visible.count
        for (i, row) in visible.enumerated() {
            canvas.write(row.0, x: 0, y: top + i, style: Style(row.1, on: .surface))
        }
        if offsetFromBottom > 0 {
            let tag = " ↑\(offsetFromBottom) "
            canvas.write(tag, x: canvas.width - DisplayWidth.of(tag), y: canvas.height - 1, style: Style(.background, on: .warning))
        }
    }
}

/// A one-line bar listing the keys of the focused view (and its parents), then the global keys.
public final class HelpBar: View {
    public init() {}

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        let base = Style(.muted, on: .background)
        canvas.fill(style: base)
        var x = 1
        var seen = Set<String>()
        for hint in context.activeHints where seen.insert(hint.keys).inserted {
            let need = DisplayWidth.of(hint.keys) + DisplayWidth.of(hint.action) + 3
            if x + need > canvas.width { break }
            x += canvas.write(hint.keys, x: x, y: 0, style: Style(.accent, on: .background, [.bold]))
            x += canvas.write(" " + hint.action + "  ", x: x, y: 0, style: base)
        }
    }
}
