/// Something that draws itself into a rectangle and may take keyboard focus.
///
/// A view draws only through its `Canvas` (local coordinates, clipped) and draws its children with
/// `context.render(child, in:)`, which records where each view went: the application uses that to
/// build the focus ring (focusable views in drawing order), to route mouse events (in the view's
/// local coordinates) and to bubble unhandled keys from the focused view up through its parents.
public protocol View: AnyObject {
    func render(_ canvas: Canvas, _ context: RenderContext)
    /// Mouse events arrive with `point` local to the view's last frame.
    func handle(_ event: InputEvent) -> EventResult
    /// Keys this view answers to, for the help bar and the help overlay.
    var keyHints: [KeyHint] { get }
    var acceptsFocus: Bool { get }
}

public extension View {
    func handle(_ event: InputEvent) -> EventResult { .ignored }
    var keyHints: [KeyHint] { [] }
    var acceptsFocus: Bool { false }
}

/// State for one drawing pass: which view has focus, the theme-independent clock, and the record
/// of where views were drawn.
public final class RenderContext {
    public struct Placement {
        public let view: any View
        /// Absolute rectangle the view was given (before clipping).
        public let frame: Rect
        /// Index of the parent placement, nil for the root.
        public let parent: Int?
    }

    /// The focused view, if any.
    public let focused: (any View)?
    /// Seconds on the application's monotonic clock, for time-based drawing (toasts, ETA).
    public let now: Double
    /// Hints of the focused view and its parents, then the global keys (for the help bar).
    public let activeHints: [KeyHint]
    public private(set) var placements: [Placement] = []
    private var stack: [Int] = []

    public init(focused: (any View)? = nil, now: Double = 0, activeHints: [KeyHint] = []) {
        self.focused = focused
        self.now = now
        self.activeHints = activeHints
    }

    public func isFocused(_ view: any View) -> Bool { focused.map { $0 === view } ?? false }

    /// Draws `view` into `canvas`, recording its placement.
    public func render(_ view: any View, in canvas: Canvas) {
        placements.append(Placement(view: view, frame: canvas.absoluteRect, parent: stack.last))
        stack.append(placements.count - 1)
        view.render(canvas, self)
        stack.removeLast()
    }

    /// Focusable views in drawing order (each once).
    public var focusOrder: [any View] {
        var seen = Set<ObjectIdentifier>()
        return placements.compactMap { p in
            guard p.view.acceptsFocus, seen.insert(ObjectIdentifier(p.view)).inserted else { return nil }
            return p.view
        }
    }

    /// The view and its ancestors, innermost first.
    public func chain(of view: any View) -> [any View] {
        guard var i = placements.lastIndex(where: { $0.view === view }) else { return [] }
        var out: [any View] = [placements[i].view]
        while let p = placements[i].parent { out.append(placements[p].view); i = p }
        return out
    }

    /// The last-drawn (topmost) placement under an absolute point whose view wants mouse input:
    /// focusable views first, else any view.
    public func hit(_ point: Point) -> Placement? {
        placements.last { $0.frame.contains(point) && $0.view.acceptsFocus }
            ?? placements.last { $0.frame.contains(point) }
    }

    public func frame(of view: any View) -> Rect? {
        placements.last { $0.view === view }?.frame
    }
}

/// The views that can take focus, in order, and which one has it. Tab and Shift-Tab move through it.
public struct FocusRing {
    public private(set) var views: [any View] = []
    public private(set) var index: Int?

    public init() {}

    public var current: (any View)? { index.map { views[$0] } }

    /// Replaces the ring's members (e.g. after a frame was drawn), keeping the focused view when it is
    /// still present and otherwise focusing the first member.
    public mutating func update(_ newViews: [any View]) {
        let keep = current
        views = newViews
        if let keep, let i = views.firstIndex(where: { $0 === keep }) { index = i }
        else { index = views.isEmpty ? nil : 0 }
    }

    public mutating func next() {
        guard !views.isEmpty else { index = nil; return }
        index = ((index ?? -1) + 1) % views.count
    }

    public mutating func previous() {
        guard !views.isEmpty else { index = nil; return }
        index = ((index ?? 0) - 1 + views.count) % views.count
    }

    /// Focuses `view` if it is in the ring; returns whether it is.
    @discardableResult
    public mutating func focus(_ view: any View) -> Bool {
        guard let i = views.firstIndex(where: { $0 === view }) else { return false }
        index = i
        return true
    }
}
