import TUI

/// In-memory terminal backend, text snapshots and scripted keys for headless pane tests.
public enum TUITestingModule {
    public static let summary = "In-memory terminal backend and snapshot helpers"
}
