import Foundation

/// A 24-bit colour.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// Parses "#rrggbb" (or "rrggbb").
    public init?(hex: String) {
        var s = Substring(hex)
        if s.hasPrefix("#") { s = s.dropFirst() }
        guard s.count == 6, let v = UInt32(s, radix: 16) else { return nil }
        self.init(UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF))
    }

    public var description: String {
        "#" + [r, g, b].map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    func distanceSquared(_ o: RGB) -> Int {
        // Weighted ("redmean") distance: closer to perceived difference than plain RGB distance.
        let rm = (Int(r) + Int(o.r)) / 2
        let dr = Int(r) - Int(o.r), dg = Int(g) - Int(o.g), db = Int(b) - Int(o.b)
        return (((512 + rm) * dr * dr) >> 8) + 4 * dg * dg + (((767 - rm) * db * db) >> 8)
    }
}

/// How many colours the terminal can show.
public enum ColorCapability: Int, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// No colour at all (`NO_COLOR`, or a monochrome terminal): roles become attributes.
    case monochrome
    case ansi8
    case ansi256
    /// Exact RGB, e.g. through redefinable palette entries.
    case trueColor

    public static func < (a: ColorCapability, b: ColorCapability) -> Bool { a.rawValue < b.rawValue }
    public var description: String {
        switch self {
        case .monochrome: "monochrome"
        case .ansi8: "8 colours"
        case .ansi256: "256 colours"
        case .trueColor: "true colour"
        }
    }
}

/// A colour as a backend should emit it.
public enum TerminalColor: Hashable, Sendable {
    case rgb(RGB)
    /// An xterm palette index, 0–255 (0–7 for 8-colour terminals).
    case indexed(Int)
    /// The terminal's own default colour (monochrome).
    case terminalDefault
}

public enum ColorQuantizer {
    /// The eight basic ANSI colours as xterm shows them, in index order.
    public static let ansi8: [(name: String, rgb: RGB)] = [
        ("black", RGB(0, 0, 0)), ("red", RGB(205, 0, 0)), ("green", RGB(0, 205, 0)), ("yellow", RGB(205, 205, 0)),
        ("blue", RGB(0, 0, 238)), ("magenta", RGB(205, 0, 205)), ("cyan", RGB(0, 205, 205)), ("white", RGB(229, 229, 229)),
    ]

    /// RGB of xterm palette entry 16–255 (the 6×6×6 cube and the grey ramp).
    public static func xterm256(_ index: Int) -> RGB {
        if index >= 232 {
            let v = UInt8(8 + (index - 232) * 10)
            return RGB(v, v, v)
        }
        let i = index - 16
        let level: (Int) -> UInt8 = { $0 == 0 ? 0 : UInt8(55 + $0 * 40) }
        return RGB(level(i / 36), level(i / 6 % 6), level(i % 6))
    }

    /// Nearest palette entry among 16–255 (0–15 are left out: users redefine them freely).
    public static func nearest256(_ c: RGB) -> Int {
        var best = 16, bestD = Int.max
        for i in 16...255 {
            let d = c.distanceSquared(xterm256(i))
            if d < bestD { bestD = d; best = i }
        }
        return best
    }

    public static func nearest8(_ c: RGB) -> Int {
        var best = 0, bestD = Int.max
        for (i, e) in ansi8.enumerated() {
            let d = c.distanceSquared(e.rgb)
            if d < bestD { bestD = d; best = i }
        }
        return best
    }
}

/// What went wrong reading a theme.
public struct ThemeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Colours for every `StyleRole`, read from a theme file (see docs/tui.md and themes/*.theme):
///
///     # comment
///     name = "Gruvbox Dark"
///     background = "#282828"      # roles as "#rrggbb"
///     [ansi256]                    # optional: palette index to use on 256-colour terminals
///     muted = 245
///     [ansi8]                      # optional: basic colour name on 8-colour terminals
///     muted = "white"
///
/// Without overrides a role falls back to the nearest palette colour.
public struct Theme: Sendable, Equatable {
    public var name: String
    public var colors: [StyleRole: RGB]
    public var ansi256: [StyleRole: Int]
    public var ansi8: [StyleRole: Int]

    public init(name: String, colors: [StyleRole: RGB], ansi256: [StyleRole: Int] = [:], ansi8: [StyleRole: Int] = [:]) {
        self.name = name; self.colors = colors; self.ansi256 = ansi256; self.ansi8 = ansi8
    }

    public func rgb(_ role: StyleRole) -> RGB {
        colors[role.normalized] ?? colors[.text] ?? RGB(255, 255, 255)
    }

    /// The colour to emit for `role` on a terminal with `capability`.
    public func color(_ role: StyleRole, for capability: ColorCapability) -> TerminalColor {
        let role = role.normalized
        switch capability {
        case .trueColor: return .rgb(rgb(role))
        case .ansi256: return .indexed(ansi256[role] ?? ColorQuantizer.nearest256(rgb(role)))
        case .ansi8: return .indexed(ansi8[role] ?? ColorQuantizer.nearest8(rgb(role)))
        case .monochrome: return .terminalDefault
        }
    }

    /// Without colour, meaning is carried by attributes: focus and accents bold, muted text dim,
    /// selections reversed, errors bold and underlined.
    public static func monochromeAttributes(for style: Style) -> TextAttributes {
        var a = style.attributes
        switch style.foreground {
        case .accent, .borderFocused, .warning, .success: a.insert(.bold)
        case .error: a.formUnion([.bold, .underline])
        case .muted, .border: a.insert(.dim)
        default: break
        }
        if style.background == .selection || style.background == .accent { a.insert(.reverse) }
        return a
    }

    // MARK: Parsing

    public static func parse(_ text: String, fallbackName: String = "theme") throws -> Theme {
        var name = fallbackName
        var colors: [StyleRole: RGB] = [:]
        var ansi256: [StyleRole: Int] = [:]
        var ansi8: [StyleRole: Int] = [:]
        var section = ""
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = n + 1
            let line = stripComment(raw).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ThemeError("line \(lineNo): unclosed section header \"\(line)\"; write [ansi256] or [ansi8]") }
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                guard section == "ansi256" || section == "ansi8" else {
                    throw ThemeError("line \(lineNo): unknown section [\(section)]; the sections are [ansi256] and [ansi8]")
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw ThemeError("line \(lineNo): expected key = value, got \"\(line)\"")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let rawValue = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            let quoted = rawValue.count >= 2 && rawValue.hasPrefix("\"") && rawValue.hasSuffix("\"")
            let value = quoted ? String(rawValue.dropFirst().dropLast()) : rawValue
            if section.isEmpty && key == "name" { name = value; continue }
            guard let role = StyleRole(key: key) else {
                throw ThemeError("line \(lineNo): unknown role \"\(key)\"; roles are \(StyleRole.required.map(\.key).joined(separator: ", "))")
            }
            switch section {
            case "ansi256":
                guard let i = Int(value), (0...255).contains(i) else {
                    throw ThemeError("line \(lineNo): \(key) in [ansi256] must be a palette index 0–255, got \(rawValue)")
                }
                ansi256[role] = i
            case "ansi8":
                guard let i = ColorQuantizer.ansi8.firstIndex(where: { $0.name == value.lowercased() }) ?? Int(value).flatMap({ (0...7).contains($0) ? $0 : nil }) else {
                    throw ThemeError("line \(lineNo): \(key) in [ansi8] must be one of \(ColorQuantizer.ansi8.map(\.name).joined(separator: ", ")), got \(rawValue)")
                }
                ansi8[role] = i
            default:
                guard quoted, let c = RGB(hex: value) else {
                    throw ThemeError("line \(lineNo): \(key) must be a quoted colour \"#rrggbb\", got \(rawValue)")
                }
                colors[role] = c
            }
        }
        let missing = StyleRole.required.filter { colors[$0] == nil }
        guard missing.isEmpty else {
            throw ThemeError("theme \"\(name)\" does not define \(missing.map(\.key).joined(separator: ", ")); add them as role = \"#rrggbb\"")
        }
        return Theme(name: name, colors: colors, ansi256: ansi256, ansi8: ansi8)
    }

    private static func stripComment(_ line: Substring) -> Substring {
        var inQuotes = false
        for i in line.indices {
            if line[i] == "\"" { inQuotes.toggle() }
            if line[i] == "#" && !inQuotes { return line[..<i] }
        }
        return line
    }

    /// The dark default, compiled in so the kit works without a themes folder; a test keeps it equal
    /// to themes/default.theme.
    public static let defaultDark = Theme(name: "Default Dark", colors: [
        .background: RGB(0x16, 0x18, 0x1d), .surface: RGB(0x1e, 0x21, 0x28), .border: RGB(0x3b, 0x41, 0x4d),
        .borderFocused: RGB(0x5e, 0xa8, 0xf0), .text: RGB(0xd8, 0xdc, 0xe3), .muted: RGB(0x84, 0x8b, 0x98),
        .accent: RGB(0x5e, 0xa8, 0xf0), .success: RGB(0x7e, 0xc6, 0x7a), .warning: RGB(0xe5, 0xc0, 0x7b),
        .error: RGB(0xef, 0x6b, 0x73), .selection: RGB(0x2c, 0x4a, 0x6e),
        .series(1): RGB(0x5e, 0xa8, 0xf0), .series(2): RGB(0xe5, 0xc0, 0x7b), .series(3): RGB(0x7e, 0xc6, 0x7a),
        .series(4): RGB(0xc6, 0x78, 0xdd), .series(5): RGB(0xef, 0x6b, 0x73), .series(6): RGB(0x56, 0xb6, 0xc2),
    ])
}

/// Theme files in a list of folders (`<name>.theme`); earlier folders win.
public struct ThemeLibrary: Sendable {
    public static let fileExtension = "theme"
    public let directories: [URL]

    public init(directories: [URL]) { self.directories = directories }

    /// `$WHET_THEMES`, `./themes`, then `themes/` next to or above the executable (a checkout's
    /// `.build/<config>/whet` finds the checkout's folder).
    public static func standard() -> ThemeLibrary {
        var dirs: [URL] = []
        let env = ProcessInfo.processInfo.environment
        if let d = env["WHET_THEMES"], !d.isEmpty { dirs.append(URL(fileURLWithPath: d)) }
        dirs.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("themes"))
        var exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            dirs.append(exe.appendingPathComponent("themes"))
            exe = exe.deletingLastPathComponent()
        }
        return ThemeLibrary(directories: dirs)
    }

    /// Names of available themes, sorted, without duplicates.
    public func names() -> [String] {
        var set = Set<String>()
        for d in directories {
            let items = (try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? []
            for f in items where f.hasSuffix("." + Self.fileExtension) {
                set.insert(String(f.dropLast(Self.fileExtension.count + 1)))
            }
        }
        return set.sorted()
    }

    public func load(_ name: String) throws -> Theme {
        guard !name.isEmpty, !name.contains("/") else {
            throw ThemeError("theme name \"\(name)\" is not valid; use one of: \(names().joined(separator: ", "))")
        }
        for d in directories {
            let url = d.appendingPathComponent("\(name).\(Self.fileExtension)")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw ThemeError("cannot read theme file \(url.path): \(error.localizedDescription)")
            }
            do { return try Theme.parse(text, fallbackName: name) } catch let e as ThemeError {
                throw ThemeError("\(url.path): \(e.description)")
            }
        }
        let known = names()
        throw ThemeError("no theme named \"\(name)\"" + (known.isEmpty
            ? "; no theme files were found (set WHET_THEMES to the themes/ folder)"
            : "; available: \(known.joined(separator: ", "))"))
    }
}
