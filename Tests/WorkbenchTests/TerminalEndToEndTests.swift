import Foundation
import Testing
import TestSupport

@Suite struct TerminalEndToEndTests {
    /// The harness the workbench tests rely on: run `whet` in a real terminal and read its screen.
    @Test func whetRunsInARealTerminal() throws {
        guard TmuxSession.isAvailable else {
            if TestModels.isCI { Issue.record("tmux is missing in CI; make setup installs it") }
            return
        }
        let whet = try #require(TestModels.whetBinary())
        let session = try TmuxSession(command: "\(whet.path) --help; sleep 30", width: 100, height: 30)
        defer { session.close() }
        // Wait for the end of the help text: the screen can be captured while it is still printing.
        let screen = try session.waitFor("--help")
        #expect(screen.contains("OVERVIEW: Whetstone"))
        #expect(screen.contains("USAGE: whet"))
    }
}
