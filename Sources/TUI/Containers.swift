/// Children side by side (`.horizontal`) or stacked (`.vertical`), sized by layout constraints.
/// When `resizable`, dragging the boundary between two children with the mouse moves it (clicks
/// on a child's edge that the child itself does not handle bubble up here).
public final class Split: View {
    public enum Axis: Sendable { case horizontal, vertical }
    public var axis: Axis
    public var children: [(constraint: LayoutConstraint, view: any View)]
    public var resizable = false
    /// Smallest length a child can be dragged down to.
    public var minimumChildLength = 3
    private var rects: [Rect] = []
    private var dragging: Int?

    public init(_ axis: Axis, _ children: [(LayoutConstraint, any View)]) {
        self.axis = axis
        self.children = children.map { (constraint: $0.0, view: $0.1) }
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        let constraints = children.map(\.constraint)
        rects = axis == .horizontal ? canvas.bounds.columns(constraints) : canvas.bounds.rows(constraints)
        for (rect, child) in zip(rects, children) where !rect.isEmpty {
            context.render(child.view, in: canvas.child(rect))
        }
    }

    private func start(_ r: Rect) -> Int { axis == .horizontal ? r.x : r.y }
    private func length(_ r: Rect) -> Int { axis == .horizontal ? r.width : r.height }

    public func handle(_ event: InputEvent) -> EventResult {
        guard resizable, case .mouse(let m) = event, rects.count == children.count else { return .ignored }
        let pos = axis == .horizontal ? m.point.x : m.point.y
        switch m.kind {
        case .press where m.button == .left:
            // The boundary is the last cell of one child and the first of the next.
            dragging = rects.indices.dropLast().first { i in
                let edge = start(rects[i]) + length(rects[i])
                return pos == edge - 1 || pos == edge
            }
            return dragging == nil ? .ignored : .handled
        case .drag:
            guard let i = dragging else { return .ignored }
            moveBoundary(after: i, to: pos)
            return .handled
        case .release:
            let was = dragging
            dragging = nil
            return was == nil ? .ignored : .handled
        default:
            return .ignored
        }
    }

    /// Puts the boundary between child `i` and `i + 1` at `pos`. The two children get their new
    /// lengths (fixed stays fixed; anything else becomes a weight), and other flexible children
    /// become weights of their current lengths, so the proportions survive a terminal resize.
    public func moveBoundary(after i: Int, to pos: Int) {
        guard rects.count == children.count, i >= 0, i + 1 < children.count else { return }
        let a = rects[i], b = rects[i + 1]
        let total = length(a) + length(b)
        let newA = min(max(minimumChildLength, pos - start(a) + 1), total - minimumChildLength)
        guard newA >= minimumChildLength, total - newA >= minimumChildLength else { return }
        for j in children.indices {
            let len = j == i ? newA : (j == i + 1 ? total - newA : length(rects[j]))
            if case .fixed = children[j].constraint {
                if j == i || j == i + 1 { children[j].constraint = .fixed(len) }
            } else {
                children[j].constraint = .weight(max(1, len))
            }
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
