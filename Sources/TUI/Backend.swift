import Synchronization

/// A terminal the application draws on. The curses backend and the in-memory test backend
/// implement it; views never see it.
public protocol TerminalBackend: AnyObject {
    /// Current size in cells.
    var size: Size { get }
    /// What the terminal can show (after `NO_COLOR` and the terminal's own limits).
    var colorCapability: ColorCapability { get }
    /// Colours to use for roles from now on. Callers redraw everything afterwards.
    func apply(theme: Theme)
    /// Draws changed cells (continuation cells never appear; a wide cell covers two columns).
    func draw(_ changes: [CellChange])
    /// Forgets what is on the terminal and clears it (before a full redraw, e.g. after a resize).
    func clear()
    /// Shows the cursor at a point, or hides it.
    func setCursor(_ point: Point?)
    /// Makes everything drawn so far visible.
    func flush()
    /// The next input event, waiting at most `timeout` seconds (0: do not wait); nil when none came.
    func readEvent(timeout: Double) -> InputEvent?
}

/// A thread-safe queue of messages from background work (generation, training) to the UI thread,
/// which drains it once per loop turn.
public final class MessageQueue<Message: Sendable>: Sendable {
    private let items = Mutex<[Message]>([])

    public init() {}

    public func post(_ message: Message) {
        items.withLock { $0.append(message) }
    }

    /// Removes and returns everything queued so far, oldest first.
    public func drain() -> [Message] {
        items.withLock { items in
            let out = items
            items.removeAll(keepingCapacity: true)
            return out
        }
    }

    public var isEmpty: Bool { items.withLock { $0.isEmpty } }
}
