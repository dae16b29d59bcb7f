import CNCurses
import TUI

/// The ncurses (wide-character) backend of the terminal kit. The only module that imports curses.
public enum TUICursesModule {
    public static let summary = "ncursesw backend for the TUI kit"
    /// The linked ncurses version, e.g. "ncurses 6.4.20221231".
    public static var libraryVersion: String { String(cString: curses_version()) }
}
