import Foundation

/// A modal view shown above everything (dialogs, the help overlay, the command palette). It takes
/// all keys while shown and calls `onDismiss` to close itself.
public protocol Modal: View {
    var onDismiss: (() -> Void)? { get set }
    /// The size the modal wants on a screen of `screen` (the application clips it to the screen).
    func preferredSize(on screen: Size) -> Size
}

/// A command in the `:` palette.
public struct PaletteCommand {
    public var name: String
    public var detail: String
    public var action: () -> Void
    public init(_ name: String, detail: String = "", action: @escaping () -> Void) {
        self.name = name; self.detail = detail; self.action = action
    }
}

/// The UI loop: polls input with a timeout, drains messages from background work, routes keys and
/// mouse events to views, and redraws only damaged cells, at most `1 / frameInterval` times a second.
///
/// Keys go to the focused view first, then bubble up its parents; what nobody handles reaches
/// `onKey`, then the global keys: Tab / Shift-Tab move focus, `?` opens help, `:` the command
/// palette, `q` quits (through `confirmQuit`); Ctrl-C too, and a second Ctrl-C while the question
/// shows quits at once.
public final class Application {
    public let backend: any TerminalBackend
    public var root: any View
    public private(set) var theme: Theme
    /// Returns a question to confirm before quitting (e.g. "A training run is active. Quit anyway?"),
    /// or nil to quit at once.
    public var confirmQuit: () -> String? = { nil }
    /// Keys nobody handled, before the global keys (e.g. number keys switching panes).
    public var onKey: (KeyEvent) -> EventResult = { _ in .ignored }
    /// Commands offered by the `:` palette.
    public var commands: [PaletteCommand] = []
    /// Below this size the application shows a "terminal too small" screen instead of the views.
    public var minimumSize = Size(width: 60, height: 16)
    public var frameInterval = 1.0 / 30
    /// Longest wait for input when nothing needs drawing, which bounds how late queued messages
    /// are noticed.
    public var idlePoll = 1.0 / 30
    public let toasts = ToastCenter()
    /// Called after each frame reaches the terminal with the clock time the oldest input event
    /// that frame answers was read (nil when the frame answers no input) and the time of the flush:
    /// their difference is the key-to-screen latency as the application sees it.
    public var onFrameFlushed: ((_ inputReadAt: Double?, _ flushedAt: Double) -> Void)?
    private var oldestUnansweredInput: Double?
    /// Seconds on a monotonic clock; tests replace it.
    public var clock: () -> Double = { ProcessInfo.processInfo.systemUptime }

    public internal(set) var isRunning = false
    public private(set) var framesDrawn = 0
    /// Cells sent to the backend by the last frame (damage size).
    public private(set) var lastFrameChanges = 0
    public private(set) var overlays: [any Modal] = []

    private var focusRing = FocusRing()
    private var pendingFocus: (any View)?
    private var front: ScreenBuffer?
    private var lastContext: RenderContext?
    private var needsDisplay = true
    private var lastRender = -Double.infinity
    private var drainers: [() -> Bool] = []
    private var mouseCapture: (view: any View, frame: Rect)?
    /// The view focused before each open modal, to give focus back when it closes.
    private var focusBeforeModal: [ObjectIdentifier: any View] = [:]

    public static let globalHints: [KeyHint] = [
        KeyHint("Tab", "next"), KeyHint("?", "help"), KeyHint(":", "commands"), KeyHint("q", "quit"),
    ]

    public init(backend: any TerminalBackend, root: any View, theme: Theme = .defaultDark) {
        self.backend = backend
        self.root = root
        self.theme = theme
        backend.apply(theme: theme)
    }

    // MARK: State changes

    public var focused: (any View)? { pendingFocus ?? focusRing.current }

    /// Focuses `view` now if it was drawn in the last frame, otherwise as soon as it is drawn.
    public func focus(_ view: any View) {
        if !focusRing.focus(view) { pendingFocus = view }
        needsDisplay = true
    }

    public func setNeedsDisplay() { needsDisplay = true }

    public func setTheme(_ theme: Theme) {
        self.theme = theme
        backend.apply(theme: theme)
        front = nil
        needsDisplay = true
    }

    /// Feeds messages posted to `queue` (from any thread) to `handler` on the UI thread.
    public func attach<M: Sendable>(_ queue: MessageQueue<M>, _ handler: @escaping (M) -> Void) {
        drainers.append {
            let items = queue.drain()
            for m in items { handler(m) }
            return !items.isEmpty
        }
    }

    public func present(_ modal: any Modal) {
        modal.onDismiss = { [weak self, weak modal] in
            guard let self, let modal else { return }
            self.dismiss(modal)
        }
        if let f = focusRing.current { focusBeforeModal[ObjectIdentifier(modal)] = f }
        overlays.append(modal)
        needsDisplay = true
    }

    public func dismiss(_ modal: any Modal) {
        overlays.removeAll { $0 === modal }
        if let previous = focusBeforeModal.removeValue(forKey: ObjectIdentifier(modal)) { pendingFocus = previous }
        mouseCapture = nil
        needsDisplay = true
    }

    public func toast(_ text: String, kind: Toast.Kind = .error, seconds: Double = 5) {
        toasts.show(text, kind: kind, now: clock(), seconds: seconds)
        needsDisplay = true
    }

    /// Stops the loop.
    public func quit() { isRunning = false }

    /// Quits, asking first when `confirmQuit` has a question.
    public func requestQuit() {
        guard let question = confirmQuit() else { quit(); return }
        if isAskingToQuit { return }
        let dialog = ModalDialog(title: "Quit", message: question, buttons: ["Quit", "Cancel"]) { [weak self] choice in
            if choice == 0 { self?.quit() }
        }
        quitDialog = dialog
        present(dialog)
    }

    /// Whether the quit confirmation is on screen.
    public var isAskingToQuit: Bool { overlays.contains { $0 === quitDialog } }
    private weak var quitDialog: ModalDialog?

    /// Ctrl-C: quits at once when nothing needs confirming, asks first when `confirmQuit` has a
    /// question, and quits at once on a second Ctrl-C while that question is showing.
    public func interrupt() {
        if isAskingToQuit { quit() } else { requestQuit() }
    }

    public func showHelp() {
        var sections: [(String, [KeyHint])] = []
        if let f = focusRing.current, let ctx = lastContext {
            for v in ctx.chain(of: f) where !v.keyHints.isEmpty {
                sections.append((String(describing: type(of: v)), v.keyHints))
            }
        }
        sections.append(("Global", Self.globalHints + [KeyHint("Shift-Tab", "previous"), KeyHint("Ctrl-C", "quit (twice: at once)")]))
        present(HelpOverlay(sections: sections))
    }

    public func showCommandPalette() {
        present(CommandPalette(commands: commands))
    }

    // MARK: Loop

    /// Runs until `quit()`.
    public func run() {
        isRunning = true
        render()
        while isRunning { step() }
    }

    /// One turn of the loop: wait for input (at most until the next frame is due), handle it,
    /// drain messages, expire toasts, and draw if something changed and a frame is due.
    public func step() {
        let now = clock()
        let wait = needsDisplay ? max(0, lastRender + frameInterval - now) : idlePoll
        if let event = backend.readEvent(timeout: wait) {
            handle(event)
            var extra = 0
            while extra < 256, let more = backend.readEvent(timeout: 0) { handle(more); extra += 1 }
        }
        drainMessages()
        if toasts.expire(now: clock()) { needsDisplay = true }
        if needsDisplay && clock() - lastRender >= frameInterval { render() }
    }

    /// Handles queued messages now; returns whether there were any.
    @discardableResult
    public func drainMessages() -> Bool {
        var any = false
        for d in drainers where d() { any = true }
        if any { needsDisplay = true }
        return any
    }

    /// Routes one input event.
    public func handle(_ event: InputEvent) {
        needsDisplay = true
        if case .resize = event {} else if oldestUnansweredInput == nil { oldestUnansweredInput = clock() }
        switch event {
        case .resize:
            front = nil
            backend.clear()
        case .key(let key):
            handleKey(key)
        case .mouse(let mouse):
            handleMouse(mouse)
        }
    }

    private func handleKey(_ key: KeyEvent) {
        if key == .control("c") { interrupt(); return }
        let size = backend.size
        if size.width < minimumSize.width || size.height < minimumSize.height {
            if key == .char("q") { requestQuit() }
            return
        }
        if let modal = overlays.last {
            // Views inside the modal (e.g. a field) get the key before the modal itself.
            if let f = focused, let chain = lastContext?.chain(of: f), chain.contains(where: { $0 === modal }) {
                for v in chain {
                    if v === modal { break }
                    if v.handle(.key(key)) == .handled { return }
                }
            }
            if modal.handle(.key(key)) == .handled { return }
            switch key.key {
            case .tab: focusRing.next()
            case .backTab: focusRing.previous()
            case .escape: dismiss(modal)
            default: break
            }
            return
        }
        if let f = focused, let ctx = lastContext {
            for v in ctx.chain(of: f) where v.handle(.key(key)) == .handled { return }
        } else if root.handle(.key(key)) == .handled {
            return
        }
        if onKey(key) == .handled { return }
        guard key.modifiers.isEmpty || key.key == .backTab else { return }
        switch key.key {
        case .tab: focusRing.next()
        case .backTab: focusRing.previous()
        case .character("?"): showHelp()
        case .character(":"): showCommandPalette()
        case .character("q"): requestQuit()
        default: break
        }
    }

    private func handleMouse(_ mouse: MouseEvent) {
        if let capture = mouseCapture, mouse.kind == .drag || mouse.kind == .release {
            var local = mouse
            local.point = Point(x: mouse.point.x - capture.frame.x, y: mouse.point.y - capture.frame.y)
            _ = capture.view.handle(.mouse(local))
            if mouse.kind == .release { mouseCapture = nil }
            return
        }
        guard let ctx = lastContext, let hit = ctx.hit(mouse.point) else { return }
        if let modal = overlays.last, !ctx.chain(of: hit.view).contains(where: { $0 === modal }) { return }
        if hit.view.acceptsFocus && mouse.kind == .press { focusRing.focus(hit.view) }
        var local = mouse
        local.point = Point(x: mouse.point.x - hit.frame.x, y: mouse.point.y - hit.frame.y)
        // Unhandled clicks bubble to parents, each in its own coordinates.
        for v in ctx.chain(of: hit.view) {
            guard let frame = ctx.frame(of: v) else { continue }
            local.point = Point(x: mouse.point.x - frame.x, y: mouse.point.y - frame.y)
            if v.handle(.mouse(local)) == .handled {
                if mouse.kind == .press && (mouse.button == .left || mouse.button == .right) { mouseCapture = (v, frame) }
                return
            }
        }
    }

    // MARK: Drawing

    /// Draws a frame now and sends the damaged cells to the backend.
    public func render() {
        let size = backend.size
        var buffer = ScreenBuffer(size: size, fill: .blank(Style(.text, on: .background)))
        if size.width < minimumSize.width || size.height < minimumSize.height {
            drawTooSmall(buffer, need: minimumSize)
            lastContext = nil
        } else {
            var context = draw(into: buffer)
            lastContext = context
            // Focus decided during this frame (first frame, a pending request, a view that vanished)
            // changes how views look: draw once more so the frame shows the right focus.
            if !sameView(context.focused, focusRing.current) {
                buffer = ScreenBuffer(size: size, fill: .blank(Style(.text, on: .background)))
                context = draw(into: buffer)
            }
            lastContext = context
        }
        let changes = buffer.changes(from: front)
        if front == nil { backend.clear() }
        backend.draw(changes)
        backend.setCursor(buffer.cursor)
        backend.flush()
        if let observer = onFrameFlushed { observer(oldestUnansweredInput, clock()) }
        oldestUnansweredInput = nil
        lastFrameChanges = changes.count
        front = buffer
        framesDrawn += 1
        lastRender = clock()
        needsDisplay = false
    }

    private func sameView(_ a: (any View)?, _ b: (any View)?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case let (x?, y?): x === y
        default: false
        }
    }

    private func draw(into buffer: ScreenBuffer) -> RenderContext {
        let now = clock()
        var hints: [KeyHint] = []
        if let f = focusRing.current, let ctx = lastContext {
            for v in ctx.chain(of: f) { hints += v.keyHints }
        }
        hints += Self.globalHints
        let context = RenderContext(focused: focusRing.current, now: now, activeHints: hints)
        let canvas = Canvas(buffer: buffer)
        context.render(root, in: canvas)
        var firstOverlayPlacement: Int?
        for modal in overlays {
            // Dim what lies underneath so the modal reads as on top.
            buffer.restyle(buffer.bounds) { s in Style(.muted, on: s.background, s.attributes) }
            let want = modal.preferredSize(on: size(of: buffer))
            let rect = buffer.bounds.centered(want)
            if modal === overlays.last { firstOverlayPlacement = context.placements.count }
            buffer.cursor = nil
            context.render(modal, in: canvas.child(rect))
        }
        toasts.draw(canvas, now: now)

        var order = context.focusOrder
        if let start = firstOverlayPlacement {
            let inside = context.placements[start...].map(\.view)
            order = order.filter { v in inside.contains { $0 === v } }
        }
        focusRing.update(order)
        if let p = pendingFocus, focusRing.focus(p) { pendingFocus = nil }
        return context
    }

    private func size(of b: ScreenBuffer) -> Size { b.size }

    private func drawTooSmall(_ buffer: ScreenBuffer, need: Size) {
        let lines = TextLayout.wrap(
            "Terminal too small: \(buffer.size.width)×\(buffer.size.height). Whetstone needs at least \(need.width)×\(need.height). Enlarge the window, or press q to quit.",
            width: max(1, buffer.size.width - 2))
        let top = max(0, (buffer.size.height - lines.count) / 2)
        for (i, l) in lines.enumerated() {
            let x = max(0, (buffer.size.width - DisplayWidth.of(l)) / 2)
            buffer.write(l, x: x, y: top + i, style: Style(i == 0 ? .warning : .text, on: .background, i == 0 ? [.bold] : []))
        }
        buffer.cursor = nil
    }
}
