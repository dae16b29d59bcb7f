import Foundation
import Testing
import TestSupport
import TUI
import TUITesting
import Workspace
@testable import Workbench

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let snapshotFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

/// The workbench on an in-memory terminal, driven step by step: each input is handled, background
/// jobs are waited for and their messages drained, then one frame is drawn.
final class ShellDriver {
    let backend: InMemoryBackend
    let shell: WorkbenchShell

    init(width: Int = 120, height: Int = 40, modelName: String? = nil, workspace: URL? = nil,
         models: [URL] = [URL(fileURLWithPath: "/nonexistent/models/tiny.gguf")],
         ragIndex: URL = URL(fileURLWithPath: "/nonexistent/whet-rag")) {
        backend = InMemoryBackend(size: Size(width: width, height: height))
        var configuration = WorkbenchConfiguration(
            modelName: modelName, workspace: workspace, installedModels: { models },
            themes: ThemeLibrary(directories: [repositoryRoot.appendingPathComponent("themes")]))
        configuration.ragIndex = ragIndex
        shell = WorkbenchShell(backend: backend, configuration: configuration)
        shell.app.clock = { [unowned self] in self.now }
        settle()
    }

    /// The application's clock (toasts expire by it).
    var now = 1000.0

    var app: Application { shell.app }
    var text: String { Snapshot.text(backend.screen) }

    /// Handles scripted input, waits (up to `timeout`) for background jobs, drains, draws.
    func settle(timeout: Double = 20) {
        while let e = backend.readEvent(timeout: 0) { app.handle(e) }
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            app.drainMessages()
            if shell.jobs.activeJobs.isEmpty && shell.jobs.inbox.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.005)
        } while Date() < deadline
        app.drainMessages()
        app.render()
    }

    /// Like `settle` but returns as soon as `condition` holds (jobs may still run).
    func wait(timeout: Double = 60, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            app.drainMessages()
            if condition() { app.render(); return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        app.render()
        return false
    }

    func press(_ key: Key, _ modifiers: KeyModifiers = []) { backend.press(key, modifiers); settle() }
    func type(_ s: String) { backend.type(s); settle() }
}

/// Compares `actual` with Snapshots/<name>.txt (`WHET_RECORD_SNAPSHOTS=1` records it).
func expectMatchesSnapshot(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    SnapshotExpectations.expectMatchesFile(actual, folder: snapshotFolder, name, sourceLocation: sourceLocation)
}

@Suite struct WorkbenchSnapshotTests {
    static let panes = ["Scope", "Models", "Prompt", "Train", "Evaluate", "Compare", "Deploy"]

    @Test(arguments: zip([120, 80], [40, 24]))
    func everyPaneAtBothSizes(width: Int, height: Int) {
        let d = ShellDriver(width: width, height: height)
        #expect(d.shell.paneTitles == Self.panes)
        for (i, name) in Self.panes.enumerated() {
            d.shell.select(pane: i)
            d.settle()
            expectMatchesSnapshot(d.text, "\(name.lowercased())-\(width)x\(height)")
        }
    }
}

@Suite struct WorkbenchShellTests {
    @Test func tabNumberAndFunctionKeysSwitchPanes() {
        let d = ShellDriver()
        #expect(d.shell.selectedPane == 0)
        d.press(.tab)
        #expect(d.shell.selectedPane == 1)
        d.press(.backTab, .shift)
        d.press(.backTab, .shift)
        #expect(d.shell.selectedPane == 6)
        #expect(d.text.contains("Ctrl-R serves the active model"))
        d.press(.function(3))
        #expect(d.shell.selectedPane == 2)
        d.press(.character("5"), .alt)
        #expect(d.shell.selectedPane == 4)
        // In Models (table focused) a plain digit switches panes; in a text field it is typed.
        d.press(.function(2))
        #expect(d.shell.selectedPane == 1)
        d.press(.character("3"))
        #expect(d.shell.selectedPane == 2)
        #expect(d.app.focused === d.shell.prompt.system)
        d.press(.character("4"))
        #expect(d.shell.selectedPane == 2)
        #expect(d.shell.prompt.system.text == "4")
    }

    @Test func helpPaletteAndThemeSwitch() {
        let d = ShellDriver()
        d.shell.select(pane: 1)  // a table: `?` and `:` are not typed into a field
        d.settle()
        d.press(.character("?"))
        #expect(d.text.contains("Keys"))
        #expect(d.text.contains("use model"))
        d.press(.escape)
        #expect(!d.text.contains("use model  "))
        d.press(.character(":"))
        #expect(d.text.contains("go scope"))
        d.type("theme light")
        d.press(.enter)
        #expect(d.app.theme.name.lowercased().contains("light"))
        let before = d.app.theme.name
        d.press(.character("t"), .control)
        #expect(d.app.theme.name != before)
    }

    @Test func tooSmallTerminalSaysSoAndRecovers() {
        let d = ShellDriver(width: 50, height: 12)
        #expect(d.text.contains("Terminal too small"))
        d.backend.resize(to: Size(width: 80, height: 24))
        d.settle()
        #expect(d.text.contains("1 Scope"))
    }

    @Test func quitAsksFirstWhileAJobRuns() throws {
        let d = ShellDriver()
        // Quitting with nothing running ends the loop at once.
        d.app.requestQuit()
        #expect(d.app.overlays.isEmpty)

        // A long evaluation: its job is running until the UI drains its end message.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("whet-quit-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let line = #"{"prediction": "the cat sat on the mat", "reference": "a cat sat on a mat"}"# + "\n"
        try String(repeating: line, count: 200).write(to: file, atomically: true, encoding: .utf8)
        d.shell.select(pane: 4)
        d.shell.evaluate.run(file.path)
        d.backend.press(.character("q"))
        while let e = d.backend.readEvent(timeout: 0) { d.app.handle(e) }
        d.app.render()
        #expect(d.text.contains("Still running"))
        #expect(d.text.contains("evaluation"))
        #expect(d.text.contains("Quit anyway?"))
        d.press(.escape)  // Cancel
        #expect(d.app.overlays.isEmpty)
        d.settle()
        #expect(d.shell.evaluate.state.rows.count == 200)
    }

    @Test func evaluateScoresAFileSortsAndDrillsDown() {
        let d = ShellDriver()
        d.shell.select(pane: 4)
        d.settle()
        let fixture = repositoryRoot.appendingPathComponent("Tests/EvaluationTests/Fixtures/public.jsonl").path
        d.type(fixture)
        d.press(.enter)
        let lines = (try? String(contentsOfFile: fixture, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(lines > 0)
        #expect(d.shell.evaluate.state.rows.count == lines)
        #expect(d.shell.evaluate.state.rows.first { $0.id == "pub-01" }?.scores["rouge1"] == 1.0)
        #expect(d.text.contains("pub-01"))
        #expect(d.text.contains("corpus bleu"))
        // Sort by rouge1 (second column), descending: the exact copy comes first.
        d.press(.character("s"))
        d.press(.character("s"))
        d.press(.character("r"))
        d.press(.home)
        d.press(.enter)
        #expect(d.text.contains("PREDICTION"))
        #expect(d.text.contains("REFERENCE"))
    }

    @Test func promptSlidersMoveByKeyAndMouse() throws {
        let d = ShellDriver()
        d.shell.select(pane: 2)
        d.settle()
        let temperature = try #require(d.shell.prompt.sliders[.temperature])
        // ↓ past the last line of an editor moves to the next widget.
        d.press(.down)
        d.press(.down)
        #expect(d.app.focused === temperature)
        d.press(.right)
        #expect(d.shell.prompt.state.parameters.temperature == 0.85)
        // Drag the temperature knob to the left end of its track.
        let row = try #require(d.text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("temperature ━") })
        let line = d.text.split(separator: "\n", omittingEmptySubsequences: false)[row]
        let knob = try #require(line.firstIndex(of: "●"))
        let x = line.distance(from: line.startIndex, to: knob)
        d.backend.drag(from: Point(x: x, y: row), to: Point(x: 2, y: row))
        d.settle()
        #expect(d.shell.prompt.state.parameters.temperature == 0)
        // Without a model Ctrl-R explains what is missing.
        d.press(.character("r"), .control)
        #expect(d.text.contains("no model is open yet"))
    }

    @Test func trainSaysPlainlyWhatIsMissing() {
        let d = ShellDriver()
        d.shell.select(pane: 3)
        d.settle()
        #expect(d.text.contains("Ctrl-R trains a LoRA adapter"))
        d.press(.character("r"), .control)
        // No model open: nothing starts, nothing is charted.
        #expect(d.shell.train.state.runningJob == nil)
        #expect(d.text.contains("no model is open yet"))
        // DPO runs from the pane (it needs the model); full SFT of a GGUF does not: the pane says so.
        d.press(.right); d.press(.right)
        #expect(d.shell.train.state.method == .dpo)
        #expect(d.text.contains("Ctrl-R runs DPO"))
        d.press(.left); d.press(.left); d.press(.left)
        #expect(d.shell.train.state.method == .sft)
        #expect(d.text.contains("SFT: cannot start here"))
        d.press(.character("r"), .control)
        #expect(d.text.contains("Cannot train"))
        #expect(d.shell.train.state.series.isEmpty)
    }

    @Test func scopeNotesAreSavedInTheWorkspace() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whet-scope-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let d = ShellDriver(workspace: folder)
        d.press(.character("s"), .control)
        let store = try WorkspaceStore(folder: folder)
        let notes = try store.notes(projectId: try store.project(named: "default").id ?? -1)
        #expect(notes.map(\.title) == ["Task"])
        #expect(notes.first?.body.contains("Success criteria") == true)
        #expect(d.text.contains("saved"))
        // A second workbench on the same workspace shows the saved note.
        let again = ShellDriver(workspace: folder)
        #expect(again.shell.scope.notes.count == 1)
    }
}

/// The real model in the workbench: generation streams into the Prompt pane, a slider move re-runs
/// it reusing the cached prompt, and a Compare pick becomes a preference pair.
@Suite struct WorkbenchRealModelTests {
    @Test(.enabled(if: TestModels.hasGemma)) func promptStreamsAndSlidersRerunWithTheCachedPrompt() throws {
        let model = try #require(try TestModels.gemma())
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whet-real-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let d = ShellDriver(modelName: model.path, workspace: folder)
        check(1, d.wait { d.shell.activeModel != nil })
        d.shell.select(pane: 2)
        d.settle()
        let prompt = d.shell.prompt!
        try #require(prompt.sliders[.maxTokens]).set(16)
        try #require(prompt.sliders[.temperature]).set(0)
        prompt.run()
        var sawPartial = false
        check(2, d.wait { sawPartial = sawPartial || (prompt.state.runningJob != nil && prompt.state.generatedTokens > 0); return prompt.state.runningJob == nil })
        check(3, sawPartial, "tokens arrive while the generation runs")
        let first = prompt.state.output
        check(4, !first.isEmpty)
        check(5, prompt.state.generatedTokens > 0 && prompt.state.generatedTokens <= 16)
        check(6, (prompt.state.promptTokenCount ?? 0) > 10)
        d.now += 10  // let the "Opened …" toast over the token panel expire
        d.settle()
        check(7, d.text.contains("generated \(prompt.state.generatedTokens) tok"), d.text)

        // Moving a slider re-runs at once (auto re-run) and reuses the prompt from the cache.
        try #require(prompt.sliders[.topK]).set(1)
        check(8, prompt.state.runningJob != nil)
        check(9, d.wait { prompt.state.runningJob == nil })
        check(10, (prompt.state.reusedPromptTokens ?? 0) >= (prompt.state.promptTokenCount ?? 0) - 1)
        check(11, !prompt.state.output.isEmpty)
        check(12, !prompt.state.isStale)

        // Compare: two configurations, then a pick saved as a preference pair.
        d.shell.select(pane: 5)
        d.settle()
        let compare = d.shell.compare!
        compare.setMaxTokens(12)
        compare.run()
        check(13, d.wait(timeout: 120) { compare.state.runningJob == nil })
        check(14, compare.state.columns.allSatisfy { !$0.output.isEmpty })
        compare.pick(.a)
        d.settle()
        let store = try WorkspaceStore(folder: folder)
        let picks = try store.picks(projectId: try store.project(named: "default").id ?? -1)
        check(15, picks.count == 1)
        check(16, picks.first?.outputA == compare.state.columns[0].output)
    }
}

/// An expectation that names itself on stderr too (the real-model checks).
func check(_ id: Int, _ ok: Bool, _ message: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    if !ok { FileHandle.standardError.write(Data("real-model check \(id) failed \(message)\n".utf8)) }
    #expect(ok, "check \(id) \(message)", sourceLocation: sourceLocation)
}
