import TUI

/// Plain-text pictures of a screen buffer for snapshot tests.
public enum Snapshot {
    /// One line per row, trailing spaces removed, rows joined with "\n". Wide characters appear once.
    public static func text(_ buffer: ScreenBuffer) -> String {
        (0..<buffer.size.height).map { trimmed(buffer.line($0)) }.joined(separator: "\n")
    }

    /// One letter per column naming each cell's foreground role (see `code(for:)`), for checking
    /// colours: a wide character's second column repeats its letter.
    public static func foregroundRoles(_ buffer: ScreenBuffer) -> String {
        roles(buffer) { $0.foreground }
    }

    /// Like `foregroundRoles`, for backgrounds.
    public static func backgroundRoles(_ buffer: ScreenBuffer) -> String {
        roles(buffer) { $0.background }
    }

    /// A letter per role: b background, s surface, o border, F border_focused, t text, m muted,
    /// a accent, g success (green), w warning, e error, S selection, 1–9 chart series.
    public static func code(for role: StyleRole) -> Character {
        switch role.normalized {
        case .background: "b"
        case .surface: "s"
        case .border: "o"
        case .borderFocused: "F"
        case .text: "t"
        case .muted: "m"
        case .accent: "a"
        case .success: "g"
        case .warning: "w"
        case .error: "e"
        case .selection: "S"
        case .series(let n): Character(String(n % 10))
        }
    }

    private static func roles(_ buffer: ScreenBuffer, _ pick: (Style) -> StyleRole) -> String {
        (0..<buffer.size.height).map { y in
            String((0..<buffer.size.width).map { x -> Character in
                let c = buffer[x, y]
                let lead = c.isContinuation && x > 0 ? buffer[x - 1, y] : c
                return code(for: pick(lead.style))
            })
        }.joined(separator: "\n")
    }

    private static func trimmed(_ s: String) -> String {
        var s = Substring(s)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

/// Drives one view (or a whole screen) headlessly: an `Application` on an `InMemoryBackend`,
/// with helpers to send input and read the screen. Each input call handles the event and draws.
public final class ViewHarness {
    public let backend: InMemoryBackend
    public let app: Application
    /// The fake clock the application and toasts read; advance it with `advance(by:)`.
    public private(set) var now: Double = 1000

    public init(_ root: any View, size: Size = Size(width: 80, height: 24), theme: Theme = .defaultDark,
                colorCapability: ColorCapability = .trueColor) {
        backend = InMemoryBackend(size: size, colorCapability: colorCapability)
        app = Application(backend: backend, root: root, theme: theme)
        app.minimumSize = Size(width: 1, height: 1)
        app.clock = { [unowned self] in self.now }
        app.render()
    }

    /// The screen as text (see `Snapshot.text`).
    public var text: String { Snapshot.text(backend.screen) }
    public var screen: ScreenBuffer { backend.screen }

    public func line(_ y: Int) -> String { Snapshot.text(backend.screen).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[safe: y] ?? "" }

    /// Handles every scripted event, drains message queues, then draws one frame.
    public func settle() {
        while let e = backend.readEvent(timeout: 0) { app.handle(e) }
        app.drainMessages()
        _ = app.toasts.expire(now: now)
        app.render()
    }

    public func send(_ event: InputEvent) { backend.script.append(event); settle() }
    public func press(_ key: Key, _ modifiers: KeyModifiers = []) { backend.press(key, modifiers); settle() }
    public func type(_ text: String) { backend.type(text); settle() }
    public func click(_ x: Int, _ y: Int, button: MouseButton = .left) { backend.click(x, y, button: button); settle() }
    public func drag(from a: Point, to b: Point) { backend.drag(from: a, to: b); settle() }
    public func resize(_ size: Size) { backend.resize(to: size); settle() }
    public func advance(by seconds: Double) { now += seconds; settle() }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
