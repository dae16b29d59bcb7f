import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct TerminalEndToEndTests {
    /// The harness the workbench tests rely on: run `whet` in a real terminal and read its screen.
    @Test func whetRunsInARealTerminal() throws {
        guard TmuxSession.isAvailable else {
            if TestModels.isCI { Issue.record("tmux is missing in CI; make setup installs it") }
            return
        }
        let whet = try #require(TestModels.whetBinary())
        let session = try TmuxSession(command: "\(whet.path) --help; sleep 30", width: 100, height: 80)
        defer { session.close() }
        // Wait for the end of the help text: the screen can be captured while it is still printing.
        let screen = try session.waitFor("--help")
        #expect(screen.contains("OVERVIEW: Whetstone"))
        #expect(screen.contains("USAGE: whet"))
        #expect(screen.contains("open the workbench"))
    }

    /// `whet` with no arguments in tmux on the real model: every pane, a slider moved by keys, a
    /// generation whose tokens stream in, and a clean quit that leaves the terminal as it was.
    @Test(.enabled(if: TestModels.hasGemma)) func workbenchEndToEnd() throws {
        guard TmuxSession.isAvailable else {
            if TestModels.isCI { Issue.record("tmux is missing in CI; make setup installs it") }
            return
        }
        let model = try #require(try TestModels.gemma())
        let whet = try #require(TestModels.whetBinary())
        let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("whet-e2e-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: workspace) }
        let command = "\(whet.path) --model '\(model.path)' --workspace '\(workspace.path)'; echo \"WHET-EXITED $?\"; sleep 60"
        let session = try TmuxSession(command: command, width: 120, height: 40, environment: ["TERM": "xterm-256color"])
        defer { session.close() }

        try session.waitFor("1 Scope")
        try session.waitFor("ctx 4096", timeout: 60)  // the status line once the model is open

        // Tab walks through every pane; each shows its own panels.
        let markers = ["Installed models", "Sampling", "loss · validation loss", "Score predictions", "configurations", "Export merged weights", "Success criteria"]
        for marker in markers {
            try session.send("Tab")
            try session.waitFor(marker)
        }
        // Back on Scope, where a text field has focus: F3 jumps to Prompt from anywhere.
        try session.send("F3")
        try session.waitFor("Sampling")
        // Focus the temperature slider (↓ past the two editors) and move it with keys: greedy.
        try session.send("Down")
        try session.send("Down")
        try session.send("Home")
        try session.waitFor("temperature ●")
        // Max tokens: down to 0 (shown as 1), then twenty steps up (PgUp twice) → 320: on an idle
        // machine the engine writes ~100 tokens/s, so this leaves seconds to watch it stream.
        try session.send("Down")
        try session.send("Home")
        try session.send("PPage")
        try session.waitFor(" 160│")
        try session.send("PPage")
        let sliders = try session.waitFor(" 320│")
        #expect(sliders.contains("max tokens"))

        try session.send("C-r")
        // Tokens stream: the counter moves while the output panel still says "streaming".
        let streaming = try session.waitFor("streaming", timeout: 30)
        _ = streaming
        var sawPartial = false
        let deadline = Date().addingTimeInterval(120)
        var screen = ""
        while Date() < deadline {
            screen = try session.capture()
            if screen.contains("streaming"), let n = Self.generatedCount(screen), n > 0, n < 320 { sawPartial = true }
            if !screen.contains("streaming"), Self.generatedCount(screen) ?? 0 > 0 { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(sawPartial, "the token counter moved while the generation streamed; last screen:\n\(screen)")
        let generated = Self.generatedCount(screen) ?? 0
        #expect(generated > 0 && generated <= 320)
        #expect(screen.contains("tok/s"))

        // q (a slider has focus, so it is not typed) quits at once: nothing is running.
        try session.send("q")
        let after = try session.waitFor("WHET-EXITED 0", timeout: 20)
        #expect(!after.contains("1 Scope"), "the workbench's screen is gone after quitting")
        #expect(try session.display("#{alternate_on}") == "0")
        #expect(try session.display("#{mouse_any_flag}#{mouse_button_flag}") == "00")
        #expect(try session.display("#{cursor_flag}") == "1")
    }

    /// The number after "generated " on the Prompt pane's token line.
    static func generatedCount(_ screen: String) -> Int? {
        guard let r = screen.range(of: "generated ") else { return nil }
        return Int(screen[r.upperBound...].prefix { $0.isNumber })
    }
}
