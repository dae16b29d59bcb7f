/// A modal dialog: a message and buttons. ←/→ or Tab choose, Enter confirms, Esc cancels
/// (`onChoose(nil)`), and a click on a button confirms it. A message taller than the screen
/// allows scrolls with ↑/↓, PgUp/PgDn, Home/End or the mouse wheel (an eval example's full texts).
public final class ModalDialog: Modal {
    public var title: String
    public var message: String
    public var buttons: [String]
    public private(set) var selected = 0
    public var onDismiss: (() -> Void)?
    private let onChoose: (Int?) -> Void
    private var buttonSpans: [(start: Int, end: Int, row: Int)] = []
    /// First message line shown, and how far it can go (known after a render).
    public private(set) var scroll = 0
    private var maxScroll = 0
    private var pageLines = 1
    /// The role of the title and border accent, e.g. `.error` for failures.
    public var tone: StyleRole

    public init(title: String, message: String, buttons: [String] = ["OK"], tone: StyleRole = .accent, onChoose: @escaping (Int?) -> Void = { _ in }) {
        self.title = title
        self.message = message
        self.buttons = buttons.isEmpty ? ["OK"] : buttons
        self.tone = tone
        self.onChoose = onChoose
    }

    public var acceptsFocus: Bool { true }
    public var keyHints: [KeyHint] {
        let choose = [KeyHint("←→", "choose"), KeyHint("Enter", "confirm"), KeyHint("Esc", "cancel")]
        return maxScroll > 0 ? [KeyHint("↑↓ PgUp PgDn", "scroll")] + choose : choose
    }

    public func preferredSize(on screen: Size) -> Size {
        let width = min(max(30, DisplayWidth.of(title) + 8, buttons.map { DisplayWidth.of($0) + 5 }.reduce(0, +) + 4), min(70, screen.width - 4))
        let lines = TextLayout.wrap(message, width: max(1, width - 4)).count
        return Size(width: width, height: lines + 5)
    }

    private func choose(_ i: Int?) {
        onDismiss?()
        onChoose(i)
    }

    public func handle(_ event: InputEvent) -> EventResult {
        switch event {
        case .key(let k):
            switch k.key {
            case .up: scroll = max(0, scroll - 1)
            case .down: scroll = min(maxScroll, scroll + 1)
            case .pageUp: scroll = max(0, scroll - pageLines)
            case .pageDown: scroll = min(maxScroll, scroll + pageLines)
            case .home: scroll = 0
            case .end: scroll = maxScroll
            case .left, .backTab: selected = (selected - 1 + buttons.count) % buttons.count
            case .right, .tab: selected = (selected + 1) % buttons.count
            case .enter, .character(" "): choose(selected)
            case .escape: choose(nil)
            case .character(let c):
                // First letter of a button chooses it (y/n style).
                guard let i = buttons.firstIndex(where: { $0.lowercased().first == Character(c.lowercased()) }) else { return .handled }
                choose(i)
            default: break
            }
            return .handled
        case .mouse(let m) where m.button == .wheelUp:
            scroll = max(0, scroll - 3)
            return .handled
        case .mouse(let m) where m.button == .wheelDown:
            scroll = min(maxScroll, scroll + 3)
            return .handled
        case .mouse(let m) where m.kind == .press:
            if let i = buttonSpans.firstIndex(where: { m.point.y == $0.row && m.point.x >= $0.start && m.point.x < $0.end }) {
                choose(i)
            }
            return .handled
        default:
            return .handled
        }
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        canvas.fill(style: Style(.text, on: .surface))
        let inner = canvas.box(title: title, focused: true)
        let titleStyle = Style(tone, on: .surface, [.bold])
        canvas.write(" \(title) ", x: 2, y: 0, style: titleStyle)
        let body = inner.inset(left: 1, right: 1)
        let lines = TextLayout.wrap(message, width: max(1, body.width))
        let visible = max(0, body.height - 2)
        pageLines = max(1, visible - 1)
        maxScroll = max(0, lines.count - visible)
        scroll = min(scroll, maxScroll)
        for (i, l) in lines.dropFirst(scroll).prefix(visible).enumerated() {
            canvas.write(l, x: body.x, y: body.y + 1 + i, style: Style(.text, on: .surface))
        }
        let labels = buttons.map { "[ \($0) ]" }
        let total = labels.map { DisplayWidth.of($0) }.reduce(0, +) + 2 * (labels.count - 1)
        var x = max(body.x, body.maxX - total)
        let row = inner.maxY - 1
        if maxScroll > 0 {
            // Where the window is: lines shown of the whole message.
            let position = "↑↓ \(scroll + 1)–\(min(lines.count, scroll + visible)) of \(lines.count)"
            if DisplayWidth.of(position) + 1 < x - body.x { canvas.write(position, x: body.x, y: row, style: Style(.muted, on: .surface)) }
        }
        buttonSpans = []
        for (i, l) in labels.enumerated() {
            let style = i == selected ? Style(.background, on: tone, [.bold]) : Style(.text, on: .surface)
            let w = canvas.write(l, x: x, y: row, style: style)
            buttonSpans.append((x, x + w, row))
            x += w + 2
        }
    }
}

/// The `?` overlay: every key of the focused view, its parents and the global keys.
public final class HelpOverlay: Modal {
    public let sections: [(title: String, hints: [KeyHint])]
    public var onDismiss: (() -> Void)?
    private var scroll = 0

    public init(sections: [(String, [KeyHint])]) {
        self.sections = sections.map { (title: $0.0, hints: $0.1) }
    }

    public var acceptsFocus: Bool { true }
    public var keyHints: [KeyHint] { [KeyHint("Esc", "close")] }

    private var lines: [(String, String, Bool)] {
        var out: [(String, String, Bool)] = []
        for s in sections {
            if !out.isEmpty { out.append(("", "", false)) }
            out.append((s.title, "", true))
            for h in s.hints { out.append((h.keys, h.action, false)) }
        }
        return out
    }

    public func preferredSize(on screen: Size) -> Size {
        Size(width: min(60, screen.width - 4), height: min(lines.count + 4, screen.height - 2))
    }

    public func handle(_ event: InputEvent) -> EventResult {
        if case .key(let k) = event {
            switch k.key {
            case .escape, .character("?"), .character("q"), .enter: onDismiss?()
            case .down: scroll = min(scroll + 1, max(0, lines.count - 1))
            case .up: scroll = max(0, scroll - 1)
            default: break
            }
        }
        return .handled
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        canvas.fill(style: Style(.text, on: .surface))
        let inner = canvas.box(title: "Keys", focused: true).inset(left: 1, right: 1)
        let keyWidth = min(16, inner.width / 3)
        for (i, line) in lines.dropFirst(scroll).prefix(max(0, inner.height - 1)).enumerated() {
            let y = inner.y + 1 + i
            if line.2 {
                canvas.write(line.0, x: inner.x, y: y, width: inner.width, style: Style(.muted, on: .surface, [.bold, .underline]))
            } else {
                canvas.write(line.0, x: inner.x, y: y, width: keyWidth, style: Style(.accent, on: .surface, [.bold]))
                canvas.write(line.1, x: inner.x + keyWidth + 1, y: y, width: inner.width - keyWidth - 1, style: Style(.text, on: .surface))
            }
        }
    }
}

/// The `:` palette: type to filter commands (letters in order, case-insensitive), ↑/↓ to choose,
/// Enter to run, Esc to close.
public final class CommandPalette: Modal {
    public let commands: [PaletteCommand]
    public let field = TextEditor(placeholder: "type a command", singleLine: true)
    public private(set) var selected = 0
    public var onDismiss: (() -> Void)?

    public init(commands: [PaletteCommand]) {
        self.commands = commands
        field.onChange = { [weak self] _ in self?.selected = 0 }
    }

    public var acceptsFocus: Bool { false }
    public var keyHints: [KeyHint] { [KeyHint("↑↓", "choose"), KeyHint("Enter", "run"), KeyHint("Esc", "close")] }

    /// Commands whose name contains the query's letters in order.
    public var matches: [PaletteCommand] {
        let q = field.text.lowercased().filter { $0 != " " }
        guard !q.isEmpty else { return commands }
        return commands.filter { c in
            var it = q.makeIterator()
            var want = it.next()
            for ch in c.name.lowercased() where ch == want { want = it.next() }
            return want == nil
        }
    }

    public func preferredSize(on screen: Size) -> Size {
        Size(width: min(64, screen.width - 4), height: min(max(6, commands.count + 4), screen.height - 2))
    }

    public func handle(_ event: InputEvent) -> EventResult {
        guard case .key(let k) = event else { return .handled }
        let m = matches
        switch k.key {
        case .escape: onDismiss?()
        case .up: selected = max(0, selected - 1)
        case .down: selected = min(max(0, m.count - 1), selected + 1)
        case .enter:
            onDismiss?()
            if m.indices.contains(selected) { m[selected].action() }
        default:
            return field.handle(event)
        }
        return .handled
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        canvas.fill(style: Style(.text, on: .surface))
        let inner = canvas.box(title: "Command", focused: true).inset(left: 1, right: 1)
        guard inner.height >= 2 else { return }
        canvas.write(":", x: inner.x, y: inner.y, style: Style(.accent, on: .surface, [.bold]))
        // The field draws as focused: the palette owns the keyboard while open.
        let fieldContext = RenderContext(focused: field, now: context.now)
        field.render(canvas.child(Rect(x: inner.x + 2, y: inner.y, width: inner.width - 2, height: 1)), fieldContext)
        let m = matches
        if m.isEmpty {
            canvas.write("no matching command", x: inner.x, y: inner.y + 1, width: inner.width, style: Style(.muted, on: .surface, [.italic]))
        }
        let rows = inner.height - 1
        let top = max(0, selected - rows + 1)
        for (i, c) in m.dropFirst(top).prefix(rows).enumerated() {
            let di = top + i
            let style = di == selected ? Style(.text, on: .selection, [.bold]) : Style(.text, on: .surface)
            let y = inner.y + 1 + i
            canvas.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), style: style)
            let w = canvas.write(c.name, x: inner.x, y: y, width: inner.width, style: style)
            if !c.detail.isEmpty && w + 3 < inner.width {
                canvas.write(c.detail, x: inner.x + w + 2, y: y, width: inner.width - w - 2, style: style.fg(.muted))
            }
        }
    }
}

/// A short message in the corner that disappears by itself.
public struct Toast: Sendable {
    public enum Kind: Sendable { case info, success, warning, error }
    public var text: String
    public var kind: Kind
    public var expires: Double

    var role: StyleRole {
        switch kind {
        case .info: .accent
        case .success: .success
        case .warning: .warning
        case .error: .error
        }
    }
}

/// The toasts currently shown, newest at the bottom right; at most `limit` at once.
public final class ToastCenter {
    public private(set) var toasts: [Toast] = []
    public var limit = 4

    public init() {}

    public func show(_ text: String, kind: Toast.Kind, now: Double, seconds: Double) {
        toasts.append(Toast(text: text, kind: kind, expires: now + seconds))
        if toasts.count > limit { toasts.removeFirst(toasts.count - limit) }
    }

    /// Drops expired toasts; returns whether any went.
    public func expire(now: Double) -> Bool {
        let before = toasts.count
        toasts.removeAll { $0.expires <= now }
        return toasts.count != before
    }

    public func draw(_ canvas: Canvas, now: Double) {
        var bottom = canvas.height - 2
        let width = min(48, canvas.width - 4)
        guard width >= 10 else { return }
        for t in toasts.reversed() where t.expires > now {
            let lines = TextLayout.wrap(t.text, width: width - 4).prefix(4)
            let h = lines.count + 2
            let rect = Rect(x: canvas.width - width - 1, y: bottom - h + 1, width: width, height: h)
            guard rect.y >= 0 else { break }
            let sub = canvas.child(rect)
            sub.fill(style: Style(.text, on: .surface))
            sub.box(focused: false)
            sub.restyle(Rect(x: 0, y: 0, width: rect.width, height: rect.height)) { s in
                s.foreground == .border ? Style(t.role, on: .surface, [.bold]) : s
            }
            for (i, l) in lines.enumerated() {
                sub.write(l, x: 2, y: 1 + i, style: Style(i == 0 ? t.role : .text, on: .surface, i == 0 ? [.bold] : []))
            }
            bottom -= h
        }
    }
}
