/// A key as the application sees it, independent of how a backend decoded it.
public enum Key: Hashable, Sendable, CustomStringConvertible {
    case character(Character)
    case enter, escape, tab, backTab, backspace, delete, insert
    case up, down, left, right, home, end, pageUp, pageDown
    case function(Int)

    public var description: String {
        switch self {
        case .character(" "): "Space"
        case .character(let c): String(c)
        case .enter: "Enter"
        case .escape: "Esc"
        case .tab: "Tab"
        case .backTab: "Shift-Tab"
        case .backspace: "Backspace"
        case .delete: "Delete"
        case .insert: "Insert"
        case .up: "↑"
        case .down: "↓"
        case .left: "←"
        case .right: "→"
        case .home: "Home"
        case .end: "End"
        case .pageUp: "PgUp"
        case .pageDown: "PgDn"
        case .function(let n): "F\(n)"
        }
    }
}

public struct KeyModifiers: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let control = KeyModifiers(rawValue: 1)
    public static let alt = KeyModifiers(rawValue: 2)
    public static let shift = KeyModifiers(rawValue: 4)
}

public struct KeyEvent: Hashable, Sendable, CustomStringConvertible {
    public var key: Key
    public var modifiers: KeyModifiers
    public init(_ key: Key, _ modifiers: KeyModifiers = []) { self.key = key; self.modifiers = modifiers }

    /// A control chord such as Ctrl-C: the letter (lowercase) with `.control`.
    public static func control(_ c: Character) -> KeyEvent { KeyEvent(.character(c), .control) }
    public static func char(_ c: Character) -> KeyEvent { KeyEvent(.character(c)) }

    public var description: String {
        var s = ""
        if modifiers.contains(.control) { s += "Ctrl-" }
        if modifiers.contains(.alt) { s += "Alt-" }
        if modifiers.contains(.shift), key != .backTab { s += "Shift-" }
        return s + key.description
    }

    /// True for a plain printable character (no control/alt), the kind text fields insert.
    public var printable: Character? {
        guard modifiers.subtracting(.shift).isEmpty, case .character(let c) = key else { return nil }
        return c
    }
}

public enum MouseButton: Hashable, Sendable {
    case left, middle, right, wheelUp, wheelDown, none
}

public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case press, release, drag, move }
    public var kind: Kind
    public var button: MouseButton
    /// Absolute screen position.
    public var point: Point
    public var modifiers: KeyModifiers

    public init(_ kind: Kind, _ button: MouseButton, at point: Point, modifiers: KeyModifiers = []) {
        self.kind = kind; self.button = button; self.point = point; self.modifiers = modifiers
    }
}

/// Input from the backend.
public enum InputEvent: Hashable, Sendable {
    case key(KeyEvent)
    case mouse(MouseEvent)
    /// The terminal changed size.
    case resize(Size)
}

/// What a view did with an event: consumed it, or let it bubble to its parent / the global keys.
public enum EventResult: Sendable {
    case handled
    case ignored
}

/// A key shown in the help bar and the help overlay.
public struct KeyHint: Hashable, Sendable {
    public var keys: String
    public var action: String
    public init(_ keys: String, _ action: String) { self.keys = keys; self.action = action }
}
