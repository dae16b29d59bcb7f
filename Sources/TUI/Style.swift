/// What a piece of the screen *means*; the theme decides what colour that is. Views never name
/// colours, so every theme (and the 8-colour and no-colour fallbacks) applies everywhere.
public enum StyleRole: Hashable, Sendable, CustomStringConvertible {
    case background, surface, border, borderFocused, text, muted, accent, success, warning, error, selection
    /// Chart series colour, numbered from 1; themes define at least `chartSeriesCount` of them and
    /// higher numbers wrap around.
    case series(Int)

    public static let chartSeriesCount = 6

    /// Every role a theme file must define.
    public static let required: [StyleRole] =
        [.background, .surface, .border, .borderFocused, .text, .muted, .accent, .success, .warning, .error, .selection]
        + (1...chartSeriesCount).map { .series($0) }

    /// The key used for the role in theme files.
    public var key: String {
        switch self {
        case .background: "background"
        case .surface: "surface"
        case .border: "border"
        case .borderFocused: "border_focused"
        case .text: "text"
        case .muted: "muted"
        case .accent: "accent"
        case .success: "success"
        case .warning: "warning"
        case .error: "error"
        case .selection: "selection"
        case .series(let n): "series_\(n)"
        }
    }
    public var description: String { key }

    public init?(key: String) {
        if key.hasPrefix("series_"), let n = Int(key.dropFirst("series_".count)), n >= 1 {
            self = .series(n); return
        }
        guard let role = StyleRole.required.first(where: { $0.key == key }) else { return nil }
        self = role
    }

    /// The series role after wrapping into `1...chartSeriesCount`; other roles unchanged.
    public var normalized: StyleRole {
        if case .series(let n) = self { return .series((max(1, n) - 1) % StyleRole.chartSeriesCount + 1) }
        return self
    }
}

/// Text attributes a terminal can show on top of colours.
public struct TextAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = TextAttributes(rawValue: 1 << 0)
    public static let dim = TextAttributes(rawValue: 1 << 1)
    public static let italic = TextAttributes(rawValue: 1 << 2)
    public static let underline = TextAttributes(rawValue: 1 << 3)
    public static let reverse = TextAttributes(rawValue: 1 << 4)
}

/// A cell's look: foreground and background roles plus attributes.
public struct Style: Hashable, Sendable {
    public var foreground: StyleRole
    public var background: StyleRole
    public var attributes: TextAttributes

    public init(_ foreground: StyleRole = .text, on background: StyleRole = .background, _ attributes: TextAttributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }

    public static let plain = Style()

    public func with(_ extra: TextAttributes) -> Style {
        var s = self; s.attributes.formUnion(extra); return s
    }
    public func on(_ background: StyleRole) -> Style {
        var s = self; s.background = background; return s
    }
    public func fg(_ foreground: StyleRole) -> Style {
        var s = self; s.foreground = foreground; return s
    }
}

/// One terminal cell. A double-width grapheme occupies its cell (`width == 2`) and the next one,
/// which holds a continuation cell (`width == 0`) that backends skip.
public struct Cell: Hashable, Sendable {
    public var grapheme: Character
    public var style: Style
    public var width: UInt8

    public init(_ grapheme: Character = " ", style: Style = .plain) {
        self.grapheme = grapheme
        self.style = style
        self.width = UInt8(DisplayWidth.of(grapheme))
    }

    init(grapheme: Character, style: Style, width: UInt8) {
        self.grapheme = grapheme; self.style = style; self.width = width
    }

    public static func blank(_ style: Style = .plain) -> Cell { Cell(grapheme: " ", style: style, width: 1) }
    static func continuation(_ style: Style) -> Cell { Cell(grapheme: " ", style: style, width: 0) }

    public var isContinuation: Bool { width == 0 }
}
