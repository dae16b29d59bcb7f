import Foundation
import Testing

/// The snapshot checks of every test target: one rule for where a mismatching picture goes
/// ($TMPDIR/whet-snapshots/<name>.txt, for a reviewer to diff) and how files are recorded.
public enum SnapshotExpectations {
    public static var mismatchFolder: URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("whet-snapshots")
    }

    static func keepMismatch(_ actual: String, _ name: String) {
        try? FileManager.default.createDirectory(at: mismatchFolder, withIntermediateDirectories: true)
        try? actual.write(to: mismatchFolder.appendingPathComponent("\(name).txt"), atomically: true, encoding: .utf8)
    }

    /// Compares a snapshot with a picture written in the test.
    public static func expect(_ actual: String, _ expected: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        if actual != expected { keepMismatch(actual, name) }
        #expect(actual == expected, "snapshot \(name) differs (actual written to $TMPDIR/whet-snapshots)", sourceLocation: sourceLocation)
    }

    /// Compares `actual` with `folder`/<name>.txt. With WHET_RECORD_SNAPSHOTS=1 the file is (re)written
    /// instead, and the test records that it did so it cannot silently pass.
    public static func expectMatchesFile(_ actual: String, folder: URL, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let url = folder.appendingPathComponent("\(name).txt")
        if ProcessInfo.processInfo.environment["WHET_RECORD_SNAPSHOTS"] == "1" {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try? (actual + "\n").write(to: url, atomically: true, encoding: .utf8)
            Issue.record("recorded snapshot \(name); run again without WHET_RECORD_SNAPSHOTS", sourceLocation: sourceLocation)
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("no snapshot \(url.path); record it with WHET_RECORD_SNAPSHOTS=1", sourceLocation: sourceLocation)
            return
        }
        expect(actual + "\n", expected, name, sourceLocation: sourceLocation)
    }
}
