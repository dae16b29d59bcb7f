/// Children side by side (`.horizontal`) or stacked (`.vertical`), sized by layout constraints.
public final class Split: View {
    public enum Axis: Sendable { case horizontal, vertical }
    public var axis: Axis
    public var children: [(constraint: LayoutConstraint, view: any View)]

    public init(_ axis: Axis, _ children: [(LayoutConstraint, any View)]) {
        self.axis = axis
        self.children = children.map { (constraint: $0.0, view: $0.1) }
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        let constraints = children.map(\.constraint)
        let rects = axis == .horizontal ? canvas.bounds.columns(constraints) : canvas.bounds.rows(constraints)
        for (rect, child) in zip(rects, children) where !rect.isEmpty {
            context.render(child.view, in: canvas.child(rect))
        }
    }
}

/// A bordered box with a title around one child; the border lights up while anything inside has focus.
public final class Panel: View {
    public var title: String
    public var child: any View
    /// Text on the right of the top border (e.g. a status).
    public var status: String = ""

    public init(_ title: String, _ child: any View) {
        self.title = title
        self.child = child
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        canvas.fill(style: Style(.text, on: .surface))
        let inner = canvas.bounds.inset(by: 1)
        let before = context.placements.count
        if !inner.isEmpty { context.render(child, in: canvas.child(inner)) }
        let containsFocus = context.placements[before...].contains { p in context.isFocused(p.view) }
        canvas.box(title: title, focused: containsFocus)
        if !status.isEmpty, canvas.width > DisplayWidth.of(title) + 10 {
            let s = TextLayout.truncate(" \(status) ", to: canvas.width - DisplayWidth.of(title) - 10)
            canvas.write(s, x: canvas.width - 2 - DisplayWidth.of(s), y: 0, style: Style(.muted, on: .surface))
        }
    }
}

/// Static text, word-wrapped, in one style.
public final class Label: View {
    public var text: String
    public var style: Style
    public init(_ text: String, style: Style = Style(.text, on: .surface)) {
        self.text = text
        self.style = style
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        canvas.fill(style: style)
        for (i, line) in TextLayout.wrap(text, width: canvas.width).prefix(canvas.height).enumerated() {
            canvas.write(line, x: 0, y: i, style: style)
        }
    }
}

/// Pages with a tab bar on top; `[` / `]` (when no inner view took them) or a click switch pages.
public final class Tabs: View {
    public var pages: [(title: String, view: any View)]
    public var selected: Int {
        didSet { selected = pages.isEmpty ? 0 : max(0, min(pages.count - 1, selected)); onChange?(selected) }
    }
    public var onChange: ((Int) -> Void)?
    private var titleSpans: [(start: Int, end: Int)] = []

    public init(_ pages: [(String, any View)], selected: Int = 0) {
        self.pages = pages.map { (title: $0.0, view: $0.1) }
        self.selected = max(0, min(max(0, pages.count - 1), selected))
    }

    public var keyHints: [KeyHint] { [KeyHint("[ ]", "switch tab")] }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        guard canvas.height > 0 else { return }
        canvas.fill(Rect(x: 0, y: 0, width: canvas.width, height: 1), style: Style(.muted, on: .background))
        var x = 1
        titleSpans = []
        for (i, page) in pages.enumerated() {
            let label = " \(i + 1) \(page.title) "
            let style = i == selected ? Style(.background, on: .accent, [.bold]) : Style(.muted, on: .surface)
            let used = canvas.write(label, x: x, y: 0, style: style)
            titleSpans.append((x, x + used))
            x += used + 1
        }
        if pages.indices.contains(selected) {
            context.render(pages[selected].view, in: canvas.child(Rect(x: 0, y: 1, width: canvas.width, height: canvas.height - 1)))
        }
    }

    public func handle(_ event: InputEvent) -> EventResult {
        switch event {
        case .key(let k) where k == .char("]"):
            guard !pages.isEmpty else { return .ignored }
            selected = (selected + 1) % pages.count
            return .handled
        case .key(let k) where k == .char("["):
            guard !pages.isEmpty else { return .ignored }
            selected = (selected - 1 + pages.count) % pages.count
            return .handled
        case .mouse(let m) where m.kind == .press && m.point.y == 0:
            if let i = titleSpans.firstIndex(where: { m.point.x >= $0.start && m.point.x < $0.end }) {
                selected = i
                return .handled
            }
            return .ignored
        default:
            return .ignored
        }
    }
}
