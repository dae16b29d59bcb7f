import CNCurses
import Foundation
import TUI
#if canImport(Glibc)
import Glibc
#endif

/// Why the terminal could not be opened.
public struct CursesError: Error, CustomStringConvertible {
    public let description: String
}

/// A `TerminalBackend` on ncursesw: UTF-8 and double-width text through `setcchar` /
/// `mvwadd_wch`, colours as the terminal allows (exact RGB through redefinable palette entries,
/// else the 256- or 8-colour palette, none under `NO_COLOR`), mouse with drag, resize through
/// ncurses' SIGWINCH handling (`KEY_RESIZE`), and a terminal restored on `shutdown()`, at exit,
/// and on fatal signals.
///
/// Set `WHET_COLORS` to `none`, `8`, `256` or `truecolor` to force a colour level.
public final class CursesBackend: TerminalBackend {
    public private(set) var colorCapability: ColorCapability = .monochrome
    private var theme: Theme = .defaultDark
    private var pairs: [PairKey: Int32] = [:]
    private var paletteSlots: [RGB: Int32] = [:]
    private var nextPair: Int32 = 1
    private var nextPaletteSlot: Int32 = 16
    private var maxPairs: Int32 = 0
    private var maxColors: Int32 = 0
    private var buttonsDown = Set<MouseButton>()
    private var isOpen = false

    private struct PairKey: Hashable { let fg: TerminalColor; let bg: TerminalColor }

    /// Opens the terminal on stdin / stdout. Fails (without touching the terminal) when they are
    /// not a terminal or the terminal type is unknown.
    public init() throws {
        setlocale(LC_ALL, "")
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw CursesError(description: "the workbench needs an interactive terminal; run it from a terminal, not a pipe (the other commands work anywhere)")
        }
        // Esc should feel immediate; ncurses' default wait for an escape sequence is 1 s.
        setenv("ESCDELAY", "25", 0)
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        guard whet_newterm(term.isEmpty ? nil : term) != nil else {
            throw CursesError(description: "cannot open terminal type \"\(term)\"; set TERM to one your system knows (e.g. xterm-256color)")
        }
        isOpen = true
        TerminalRestore.install()
        raw()            // Ctrl-C arrives as a key, so the application can quit cleanly
        noecho()
        nonl()
        keypad(whet_stdscr(), true)
        curs_set(0)
        mouseinterval(0)
        mousemask(whet_mouse_mask_all(), nil)
        // Button-event tracking: report motion while a button is held (dragging sliders).
        TerminalRestore.writeRaw("\u{1B}[?1002h")
        setUpColors()
    }

    deinit { shutdown() }

    /// Restores the terminal. Safe to call more than once.
    public func shutdown() {
        guard isOpen else { return }
        isOpen = false
        TerminalRestore.restore()
    }

    private func setUpColors() {
        let env = ProcessInfo.processInfo.environment
        let forced = env["WHET_COLORS"]?.lowercased()
        let noColor = !(env["NO_COLOR"] ?? "").isEmpty
        if noColor || forced == "none" || !has_colors() {
            colorCapability = .monochrome
            return
        }
        start_color()
        use_default_colors()
        maxColors = whet_colors()
        maxPairs = whet_color_pairs()
        var cap: ColorCapability
        if maxColors >= 256 { cap = can_change_color() ? .trueColor : .ansi256 }
        else if maxColors >= 8 { cap = .ansi8 }
        else { cap = .monochrome }
        switch forced {
        case "8": cap = min(cap, .ansi8)
        case "256": cap = min(cap, .ansi256)
        case "truecolor": break
        default: break
        }
        colorCapability = cap
    }

    public var size: Size {
        Size(width: Int(whet_getmaxx(whet_stdscr())), height: Int(whet_getmaxy(whet_stdscr())))
    }

    public func apply(theme: Theme) {
        self.theme = theme
        // Pairs and palette slots refer to the old colours.
        pairs.removeAll()
        paletteSlots.removeAll()
        nextPair = 1
        nextPaletteSlot = 16
    }

    private func colorNumber(_ c: TerminalColor) -> Int32 {
        switch c {
        case .terminalDefault: return -1
        case .indexed(let i): return Int32(i)
        case .rgb(let rgb):
            if let n = paletteSlots[rgb] { return n }
            guard nextPaletteSlot < maxColors else { return Int32(ColorQuantizer.nearest256(rgb)) }
            let n = nextPaletteSlot
            nextPaletteSlot += 1
            let scale: (UInt8) -> Int32 = { Int32($0) * 1000 / 255 }
            init_extended_color(n, scale(rgb.r), scale(rgb.g), scale(rgb.b))
            paletteSlots[rgb] = n
            return n
        }
    }

    private func pair(for style: Style) -> Int32 {
        guard colorCapability != .monochrome else { return 0 }
        let key = PairKey(fg: theme.color(style.foreground, for: colorCapability), bg: theme.color(style.background, for: colorCapability))
        if let p = pairs[key] { return p }
        guard nextPair < maxPairs else { return 0 }
        let p = nextPair
        nextPair += 1
        init_extended_pair(p, colorNumber(key.fg), colorNumber(key.bg))
        pairs[key] = p
        return p
    }

    private func attributes(for style: Style) -> attr_t {
        let a = colorCapability == .monochrome ? Theme.monochromeAttributes(for: style) : style.attributes
        var out = attr_t(whet_a_normal())
        if a.contains(.bold) { out |= whet_a_bold() }
        if a.contains(.dim) { out |= whet_a_dim() }
        if a.contains(.italic) { out |= whet_a_italic() }
        if a.contains(.underline) { out |= whet_a_underline() }
        if a.contains(.reverse) { out |= whet_a_reverse() }
        return out
    }

    public func draw(_ changes: [CellChange]) {
        let win = whet_stdscr()
        var cc = cchar_t()
        // A grapheme as wide characters: ncurses takes one spacing character plus up to
        // CCHARW_MAX - 1 combining ones, NUL-terminated.
        var wide = [wchar_t](repeating: 0, count: 6)
        for change in changes {
            var n = 0
            for scalar in change.cell.grapheme.unicodeScalars where n < 5 {
                wide[n] = wchar_t(bitPattern: scalar.value)
                n += 1
            }
            wide[n] = 0
            if n == 0 || DisplayWidth.of(change.cell.grapheme) == 0 { wide[0] = 0x20; wide[1] = 0 }
            _ = wide.withUnsafeBufferPointer { p in
                whet_setcchar(&cc, p.baseAddress, attributes(for: change.cell.style), pair(for: change.cell.style))
            }
            mvwadd_wch(win, Int32(change.point.y), Int32(change.point.x), &cc)
        }
    }

    public func clear() {
        wclear(whet_stdscr())
    }

    private var cursor: Point?
    public func setCursor(_ point: Point?) { cursor = point }

    public func flush() {
        let win = whet_stdscr()
        if let c = cursor {
            wmove(win, Int32(c.y), Int32(c.x))
            curs_set(1)
        } else {
            curs_set(0)
        }
        wnoutrefresh(win)
        doupdate()
    }

    public func readEvent(timeout: Double) -> InputEvent? {
        let win = whet_stdscr()
        wtimeout(win, Int32(max(0, min(timeout, 10)) * 1000))
        var ch: wint_t = 0
        let r = wget_wch(win, &ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES { return functionKey(Int32(ch)) }
        return character(UInt32(ch))
    }

    private func character(_ v: UInt32) -> InputEvent? {
        switch v {
        case 27:
            // Esc alone, or Alt plus the next key.
            let win = whet_stdscr()
            wtimeout(win, 0)
            var next: wint_t = 0
            let r = wget_wch(win, &next)
            if r == OK, let s = Unicode.Scalar(UInt32(next)), next >= 32 {
                return .key(KeyEvent(.character(Character(s)), .alt))
            }
            if r == KEY_CODE_YES, case .key(var k)? = functionKey(Int32(next)) {
                k.modifiers.insert(.alt); return .key(k)
            }
            return .key(KeyEvent(.escape))
        case 9: return .key(KeyEvent(.tab))
        case 10, 13: return .key(KeyEvent(.enter))
        case 8, 127: return .key(KeyEvent(.backspace))
        case 0: return .key(.control(" "))
        case 1...26:
            guard let s = Unicode.Scalar(v + 96) else { return nil }
            return .key(.control(Character(s)))
        case 28...31: return nil
        default:
            guard let s = Unicode.Scalar(v) else { return nil }
            return .key(KeyEvent(.character(Character(s))))
        }
    }

    private func functionKey(_ code: Int32) -> InputEvent? {
        switch code {
        case KEY_RESIZE: return .resize(size)
        case KEY_MOUSE: return mouseEvent()
        case KEY_UP: return .key(KeyEvent(.up))
        case KEY_DOWN: return .key(KeyEvent(.down))
        case KEY_LEFT: return .key(KeyEvent(.left))
        case KEY_RIGHT: return .key(KeyEvent(.right))
        case KEY_SLEFT: return .key(KeyEvent(.left, .shift))
        case KEY_SRIGHT: return .key(KeyEvent(.right, .shift))
        case KEY_SR: return .key(KeyEvent(.up, .shift))
        case KEY_SF: return .key(KeyEvent(.down, .shift))
        case KEY_HOME: return .key(KeyEvent(.home))
        case KEY_END: return .key(KeyEvent(.end))
        case KEY_PPAGE: return .key(KeyEvent(.pageUp))
        case KEY_NPAGE: return .key(KeyEvent(.pageDown))
        case KEY_DC: return .key(KeyEvent(.delete))
        case KEY_IC: return .key(KeyEvent(.insert))
        case KEY_BACKSPACE: return .key(KeyEvent(.backspace))
        case KEY_ENTER: return .key(KeyEvent(.enter))
        case KEY_BTAB: return .key(KeyEvent(.backTab, .shift))
        default:
            for n in 1...12 where code == whet_key_f(Int32(n)) { return .key(KeyEvent(.function(n))) }
            return nil
        }
    }

    private func mouseEvent() -> InputEvent? {
        var m = MEVENT()
        guard getmouse(&m) == OK else { return nil }
        let s = m.bstate
        let point = Point(x: Int(m.x), y: Int(m.y))
        let mods = KeyModifiers(rawValue: UInt8(whet_mouse_modifiers(s)))
        let buttons: [(Int32, MouseButton)] = [(1, .left), (2, .middle), (3, .right)]
        if whet_mouse_pressed(s, 4) != 0 { return .mouse(MouseEvent(.press, .wheelUp, at: point, modifiers: mods)) }
        if whet_mouse_pressed(s, 5) != 0 { return .mouse(MouseEvent(.press, .wheelDown, at: point, modifiers: mods)) }
        for (n, b) in buttons {
            if whet_mouse_pressed(s, n) != 0 {
                buttonsDown.insert(b)
                return .mouse(MouseEvent(.press, b, at: point, modifiers: mods))
            }
            if whet_mouse_released(s, n) != 0 {
                buttonsDown.remove(b)
                return .mouse(MouseEvent(.release, b, at: point, modifiers: mods))
            }
            if whet_mouse_clicked(s, n) != 0 {
                // Some terminals only report clicks; deliver the press (release follows implicitly).
                return .mouse(MouseEvent(.press, b, at: point, modifiers: mods))
            }
        }
        if s & whet_mouse_report_position() != 0 {
            if let held = buttonsDown.first { return .mouse(MouseEvent(.drag, held, at: point, modifiers: mods)) }
            return .mouse(MouseEvent(.move, .none, at: point, modifiers: mods))
        }
        return nil
    }
}

/// Puts the terminal back the way it was: at `shutdown`, at process exit, and from fatal signal
/// handlers (Ctrl-C from outside, `kill`, crashes), which then re-raise the signal so the process
/// still ends with the right status and core dump.
enum TerminalRestore {
    // The signal handlers need process-wide state: whether curses is active.
    nonisolated(unsafe) static var active = false
    nonisolated(unsafe) static var installed = false

    static func install() {
        active = true
        guard !installed else { return }
        installed = true
        atexit { TerminalRestore.restore() }
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] {
            signal(sig) { s in
                TerminalRestore.restore()
                signal(s, SIG_DFL)
                raise(s)
            }
        }
    }

    static func restore() {
        guard active else { return }
        active = false
        writeRaw("\u{1B}[?1002l")
        endwin()
    }

    /// Writes bytes straight to the terminal (async-signal-safe: `write(2)` only).
    static func writeRaw(_ s: StaticString) {
        s.withUTF8Buffer { b in _ = write(STDOUT_FILENO, b.baseAddress, b.count) }
    }
}
