import TUI

/// A terminal in memory: a fixed (resizable) size, a screen of cells updated by `draw`, every
/// flushed frame recorded, and input taken from a script instead of a keyboard.
public final class InMemoryBackend: TerminalBackend {
    public private(set) var size: Size
    public var colorCapability: ColorCapability
    public private(set) var theme: Theme = .defaultDark
    /// What the terminal shows now.
    public private(set) var screen: ScreenBuffer
    /// Text snapshots of every flushed frame, oldest first.
    public private(set) var frames: [String] = []
    /// Cells drawn per flushed frame (the damage the application sent).
    public private(set) var changesPerFrame: [Int] = []
    public private(set) var cursor: Point?
    public private(set) var clears = 0
    /// Input waiting to be read, in order.
    public var script: [InputEvent] = []
    private var pendingChanges = 0

    public init(size: Size = Size(width: 80, height: 24), colorCapability: ColorCapability = .trueColor) {
        self.size = size
        self.colorCapability = colorCapability
        screen = ScreenBuffer(size: size)
    }

    public func apply(theme: Theme) { self.theme = theme }

    public func draw(_ changes: [CellChange]) {
        for c in changes {
            screen.put(c.cell.grapheme, x: c.point.x, y: c.point.y, style: c.cell.style)
        }
        pendingChanges += changes.count
    }

    public func clear() {
        screen = ScreenBuffer(size: size)
        clears += 1
    }

    public func setCursor(_ point: Point?) { cursor = point }

    public func flush() {
        frames.append(Snapshot.text(screen))
        changesPerFrame.append(pendingChanges)
        pendingChanges = 0
    }

    /// The next scripted event; never waits (tests are driven step by step).
    public func readEvent(timeout: Double) -> InputEvent? {
        script.isEmpty ? nil : script.removeFirst()
    }

    /// Changes the size and queues the resize event a real terminal would deliver.
    public func resize(to newSize: Size) {
        size = newSize
        screen = ScreenBuffer(size: newSize)
        script.append(.resize(newSize))
    }

    // MARK: Scripting helpers

    public func type(_ text: String) {
        for c in text { script.append(.key(KeyEvent(.character(c)))) }
    }

    public func press(_ key: Key, _ modifiers: KeyModifiers = []) {
        script.append(.key(KeyEvent(key, modifiers)))
    }

    public func click(_ x: Int, _ y: Int, button: MouseButton = .left) {
        script.append(.mouse(MouseEvent(.press, button, at: Point(x: x, y: y))))
        script.append(.mouse(MouseEvent(.release, button, at: Point(x: x, y: y))))
    }

    public func drag(from a: Point, to b: Point) {
        script.append(.mouse(MouseEvent(.press, .left, at: a)))
        let steps = max(abs(b.x - a.x), abs(b.y - a.y))
        if steps > 0 {
            for i in 1...steps {
                let p = Point(x: a.x + (b.x - a.x) * i / steps, y: a.y + (b.y - a.y) * i / steps)
                script.append(.mouse(MouseEvent(.drag, .left, at: p)))
            }
        }
        script.append(.mouse(MouseEvent(.release, .left, at: b)))
    }
}
