/// The backend-neutral terminal kit: cells with semantic style roles, a screen buffer with damage
/// tracking, layout, focus, keys, widgets and themes. Knows nothing about curses or the engine.
public enum TUIModule {
    public static let summary = "Terminal kit: cells, screen buffer, layout, widgets, themes"
}
