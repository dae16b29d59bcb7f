import Foundation
import Testing
import TUI
import TUITesting

/// Compares a snapshot; on mismatch also writes the actual text to $TMPDIR/whet-snapshots/<name>.txt
/// so a reviewer can diff it.
func expectSnapshot(_ actual: String, _ expected: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    if actual != expected {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-snapshots")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? actual.write(to: dir.appendingPathComponent("\(name).txt"), atomically: true, encoding: .utf8)
    }
    #expect(actual == expected, "snapshot \(name) differs", sourceLocation: sourceLocation)
}

/// Renders a view alone at `size` and returns the harness.
func harness(_ view: any View, _ width: Int, _ height: Int) -> ViewHarness {
    ViewHarness(view, size: Size(width: width, height: height))
}

/// The repository's themes/ folder, found from this file's path.
let themesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes")
