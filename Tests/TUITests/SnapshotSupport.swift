import Foundation
import Testing
import TUI
import TUITesting
import TestSupport

func expectSnapshot(_ actual: String, _ expected: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    SnapshotExpectations.expect(actual, expected, name, sourceLocation: sourceLocation)
}

/// Renders a view alone at `size` and returns the harness.
func harness(_ view: any View, _ width: Int, _ height: Int) -> ViewHarness {
    ViewHarness(view, size: Size(width: width, height: height))
}

/// The repository's themes/ folder, found from this file's path.
let themesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes")
