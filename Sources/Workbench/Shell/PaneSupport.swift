import Foundation
import TUI

/// One of the seven panes. A pane is a view (its layout of widgets) plus what the shell needs:
/// its title, its widgets in focus order, the messages of its jobs and its palette commands.
///
/// Inside a pane, ↑/↓ that a widget does not use (the first or last line of an editor, a slider)
/// and Ctrl-N / Ctrl-P move focus to the next or previous widget.
public class Pane: View {
    let title: String
    unowned let shell: WorkbenchShell
    /// The pane's layout; `render` draws it.
    var body: any View = Label("")

    init(title: String, shell: WorkbenchShell) {
        self.title = title
        self.shell = shell
    }

    /// Focusable widgets in the order ↑/↓ and Ctrl-N / Ctrl-P move through.
    var focusables: [any View] { [] }
    /// Keys of the pane itself, for the help bar and `?`.
    var paneHints: [KeyHint] { [] }
    var commands: [PaletteCommand] { [] }
    /// Whether a job this pane started is still running (quitting asks first).
    var activeJobDescription: String? { nil }

    /// Messages of every job; panes ignore those of jobs they did not start.
    func receive(_ message: JobMessage) {}
    /// Called when the pane becomes the visible one.
    func didAppear() {}
    /// Called once when the workbench quits, after the UI loop ended (stop what the pane started).
    func willQuit() {}
    /// Keys that reached the pane because no widget took them.
    func handlePaneKey(_ key: KeyEvent) -> EventResult { .ignored }

    public var keyHints: [KeyHint] { paneHints }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        context.render(body, in: canvas)
    }

    public func handle(_ event: InputEvent) -> EventResult {
        guard case .key(let key) = event else { return .ignored }
        if handlePaneKey(key) == .handled { return .handled }
        switch (key.key, key.modifiers) {
        case (.down, []), (.character("n"), .control): return moveFocus(by: 1) ? .handled : .ignored
        case (.up, []), (.character("p"), .control): return moveFocus(by: -1) ? .handled : .ignored
        default: return .ignored
        }
    }

    /// Focuses the widget `delta` places away from the focused one (wrapping around).
    @discardableResult
    func moveFocus(by delta: Int) -> Bool {
        let list = focusables
        guard !list.isEmpty else { return false }
        let current = shell.app.focused.flatMap { f in list.firstIndex { $0 === f } }
        let next = current.map { ($0 + delta + list.count) % list.count } ?? 0
        shell.app.focus(list[next])
        return true
    }

    func focusFirst() {
        if let first = focusables.first { shell.app.focus(first) }
    }
}

/// A run of text in one style.
struct Span {
    var text: String
    var style: Style
    init(_ text: String, _ style: Style = Style(.text, on: .surface)) { self.text = text; self.style = style }
}

/// Styled paragraphs, word-wrapped to the width; `followTail` keeps the end in view (streamed text).
final class TextBlock: View {
    var paragraphs: [[Span]]
    var followTail: Bool
    /// Lines scrolled up from the tail (with `followTail`) or down from the top.
    var scroll = 0
    private(set) var lastHeight = 1

    init(_ paragraphs: [[Span]] = [], followTail: Bool = false) {
        self.paragraphs = paragraphs
        self.followTail = followTail
    }

    /// Plain text in one style, split at newlines.
    func setText(_ text: String, style: Style = Style(.text, on: .surface)) {
        paragraphs = text.split(separator: "\n", omittingEmptySubsequences: false).map { [Span(String($0), style)] }
    }

    /// Rows of (column, span) pieces after wrapping at word boundaries.
    static func layout(_ paragraphs: [[Span]], width: Int) -> [[(x: Int, text: String, style: Style)]] {
        var rows: [[(x: Int, text: String, style: Style)]] = []
        let width = max(1, width)
        for para in paragraphs {
            var row: [(x: Int, text: String, style: Style)] = []
            var x = 0
            for span in para {
                // Split the span into words and the spaces after them, so wrapping happens between words.
                var word = ""
                func flush() {
                    guard !word.isEmpty else { return }
                    var w = DisplayWidth.of(word)
                    if x + w > width && x > 0 && !word.allSatisfy({ $0 == " " }) {
                        rows.append(row); row = []; x = 0
                    }
                    var piece = word
                    while w > width {
                        // A word longer than the line: hard-break it.
                        let head = TextLayout.truncate(piece, to: width, ellipsis: false)
                        row.append((x, head, span.style)); rows.append(row); row = []; x = 0
                        piece = String(piece.dropFirst(head.count))
                        w = DisplayWidth.of(piece)
                    }
                    if !(x == 0 && piece.allSatisfy({ $0 == " " }) && !row.isEmpty) {
                        row.append((x, piece, span.style)); x += w
                    }
                    word = ""
                }
                for c in span.text {
                    if c == " " {
                        if let last = word.last, last != " " { flush() }
                        word.append(c)
                    } else {
                        if let last = word.last, last == " " { flush() }
                        word.append(c)
                    }
                }
                flush()
            }
            rows.append(row)
        }
        return rows
    }

    func render(_ canvas: Canvas, _ context: RenderContext) {
        canvas.fill(style: Style(.text, on: .surface))
        lastHeight = canvas.height
        guard canvas.width > 0, canvas.height > 0 else { return }
        let rows = Self.layout(paragraphs, width: canvas.width)
        let top: Int
        if followTail {
            scroll = min(scroll, max(0, rows.count - canvas.height))
            top = max(0, rows.count - canvas.height - scroll)
        } else {
            scroll = max(0, min(scroll, max(0, rows.count - canvas.height)))
            top = scroll
        }
        for (i, row) in rows.dropFirst(top).prefix(canvas.height).enumerated() {
            for piece in row { canvas.write(piece.text, x: piece.x, y: i, style: piece.style) }
        }
    }

    /// Scrolls by `delta` lines (positive: towards older text when following the tail).
    func scrollBy(_ delta: Int) { scroll = max(0, scroll + delta) }
}

/// A one-line choice among a few values: ←/→ change it.
final class Choice: View {
    let label: String
    var options: [String]
    private(set) var selected: Int
    var onChange: ((Int) -> Void)?

    init(_ label: String, options: [String], selected: Int = 0) {
        self.label = label
        self.options = options
        self.selected = max(0, min(selected, options.count - 1))
    }

    var acceptsFocus: Bool { true }
    var keyHints: [KeyHint] { [KeyHint("←→", "choose")] }

    func select(_ i: Int) {
        guard !options.isEmpty else { return }
        let n = (i + options.count) % options.count
        if n != selected { selected = n; onChange?(n) }
    }

    func handle(_ event: InputEvent) -> EventResult {
        switch event {
        case .key(let k) where k.key == .left && k.modifiers.isEmpty: select(selected - 1); return .handled
        case .key(let k) where k.key == .right && k.modifiers.isEmpty: select(selected + 1); return .handled
        case .mouse(let m) where m.kind == .press && m.button == .left: select(selected + 1); return .handled
        default: return .ignored
        }
    }

    func render(_ canvas: Canvas, _ context: RenderContext) {
        let focused = context.isFocused(self)
        let base = Style(.text, on: .surface)
        canvas.fill(style: base)
        var x = canvas.write(label + " ", x: 0, y: 0, style: focused ? base.fg(.accent).with(.bold) : base)
        // Too narrow for every option: only the chosen one, between arrows.
        if x + options.reduce(0, { $0 + DisplayWidth.of($1) + 3 }) > canvas.width, options.indices.contains(selected) {
            x += canvas.write("◂", x: x, y: 0, style: base.fg(.muted))
            x += canvas.write(" \(options[selected]) ", x: x, y: 0, style: Style(focused ? .background : .text, on: focused ? .accent : .selection, [.bold]))
            x += canvas.write("▸", x: x, y: 0, style: base.fg(.muted))
            canvas.write(" \(selected + 1)/\(options.count)", x: x, y: 0, style: base.fg(.muted))
            return
        }
        for (i, o) in options.enumerated() {
            let style = i == selected ? Style(focused ? .background : .text, on: focused ? .accent : .selection, [.bold]) : base.fg(.muted)
            x += canvas.write(" \(o) ", x: x, y: 0, style: style)
            x += 1
        }
    }
}

/// Vertical stack of fixed-height rows (sliders, choices, lines).
func rows(_ views: [(Int, any View)], fill: Bool = true) -> Split {
    var children: [(LayoutConstraint, any View)] = views.map { (LayoutConstraint.fixed($0.0), $0.1) }
    if fill { children.append((LayoutConstraint.weight(1), Label(""))) }
    return Split(.vertical, children)
}

extension Style {
    static let body = Style(.text, on: .surface)
    static let muted = Style(.muted, on: .surface)
    static let accent = Style(.accent, on: .surface, [.bold])
    static let warning = Style(.warning, on: .surface, [.bold])
    static let error = Style(.error, on: .surface, [.bold])
    static let success = Style(.success, on: .surface, [.bold])
}

/// A bar of `width` cells filled to `fraction` (block characters).
func meter(_ fraction: Double, width: Int) -> String {
    guard width > 0 else { return "" }
    let f = min(1, max(0, fraction.isFinite ? fraction : 0))
    let filled = Int((f * Double(width)).rounded())
    return String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
}

func formatCount(_ n: Int) -> String {
    if n >= 1_000_000_000 { return String(format: "%.1fB", Double(n) / 1e9) }
    if n >= 1_000_000 { return String(format: "%.1fM", Double(n) / 1e6) }
    if n >= 10_000 { return String(format: "%.0fk", Double(n) / 1e3) }
    return "\(n)"
}

func formatBytes(_ n: Int) -> String {
    if n >= 1 << 30 { return String(format: "%.1f GiB", Double(n) / Double(1 << 30)) }
    if n >= 1 << 20 { return String(format: "%.1f MiB", Double(n) / Double(1 << 20)) }
    return String(format: "%.0f KiB", Double(n) / 1024)
}
