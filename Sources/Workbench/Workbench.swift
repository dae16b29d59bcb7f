import TUI
import Engine

/// The workbench panes (Scope, Models, Prompt, Train, Evaluate, Compare, Deploy), their state and
/// controllers, and the job runner between engine work on background queues and the UI thread.
public enum WorkbenchModule {
    public static let summary = "Workbench panes and the job runner"
}
