import Engine
import Foundation
import Retrieval
import Testing
import TestSupport
import TUI
@testable import Workbench

/// The Prompt pane's extra sampler knobs, stop sequences and retrieval switch.
@Suite struct PromptKnobsAndRetrievalTests {
    @Test func stopSequencesParseFromOneLine() {
        #expect(GenerationParameters.parseStopSequences("") == [])
        #expect(GenerationParameters.parseStopSequences(" END , \\n\\n,,") == ["END", "\n\n"])
        #expect(GenerationParameters.parseStopSequences("a\\,b, c") == ["a,b", "c"])
    }

    @Test func newKnobsAndRetrievalMarkTheOutputStale() {
        var state = PromptPaneState(contextLength: 100)
        state.userPrompt = "hi"
        state.generationStarted(JobID(raw: 1))
        state.apply(JobMessage(job: JobID(raw: 1), event: .jobEnded(kind: .generation, state: .finished)))
        #expect(!state.isStale)
        let minPChanged = state.set(.minP, to: 0.2)
        #expect(minPChanged)
        #expect(state.parameters.minP == 0.2)
        #expect(state.isStale)
        state.generationStarted(JobID(raw: 2))
        let penaltyChanged = state.set(.repeatPenalty, to: 1.3)
        #expect(penaltyChanged)
        #expect(state.isStale)
        state.generationStarted(JobID(raw: 3))
        state.parameters.stop = ["END"]
        #expect(state.isStale)
        state.generationStarted(JobID(raw: 4))
        state.retrievalEnabled = true
        #expect(state.isStale)
    }

    @Test func slidersStopFieldAndRetrievalSwitchInThePane() throws {
        let d = ShellDriver()
        d.shell.select(pane: 2)
        d.settle()
        let prompt = d.shell.prompt!
        try #require(prompt.sliders[.minP]).set(0.1)
        try #require(prompt.sliders[.repeatPenalty]).set(1.15)
        #expect(prompt.state.parameters.minP == 0.1)
        #expect(prompt.state.parameters.repeatPenalty == 1.15)
        d.app.focus(prompt.stopField)
        d.type("###, \\n")
        #expect(prompt.state.parameters.stop == ["###", "\n"])
        #expect(d.text.contains("min-p"))
        #expect(d.text.contains("rep penalty"))
        // Ctrl-G: retrieval on; the index is missing, so the pane says how to build one.
        d.press(.character("g"), .control)
        #expect(prompt.state.retrievalEnabled)
        #expect(prompt.state.retrievalIndex == .missing(folder: "/nonexistent/whet-rag"))
        #expect(d.text.contains("whet rag index DIR"))
        // Ctrl-R without a model: nothing is retrieved or generated, the pane says why.
        d.press(.character("r"), .control)
        #expect(prompt.state.retrievedChunks.isEmpty)
        #expect(d.text.contains("no model is open yet"))
        d.press(.character("g"), .control)
        #expect(!prompt.state.retrievalEnabled)
        #expect(!d.text.contains("Retrieved"))
    }

    @Test(arguments: zip([120, 80], [40, 24]))
    func retrievalWithoutAnIndexSnapshots(width: Int, height: Int) {
        let d = ShellDriver(width: width, height: height)
        d.shell.select(pane: 2)
        d.settle()
        d.shell.prompt.setRetrieval(true)
        d.settle()
        expectMatchesSnapshot(d.text, "prompt-retrieval-missing-\(width)x\(height)")
    }

    /// The pane's look with retrieved passages beside a finished answer. The events are injected (a
    /// rendering test; `retrievesFromATinyIndexAndAnswersFromIt` retrieves for real).
    @Test(arguments: zip([120, 80], [40, 24]))
    func retrievedPassagesSnapshots(width: Int, height: Int) {
        let d = ShellDriver(width: width, height: height)
        d.shell.select(pane: 2)
        d.settle()
        let prompt = d.shell.prompt!
        prompt.setPrompt("When should a bicycle chain be replaced?")
        prompt.setRetrieval(true)
        d.settle()
        let job = JobID(raw: 9999)
        prompt.state.generationStarted(job)
        let events: [WorkbenchEvent] = [
            .retrievalIndex(.ready(folder: "/nonexistent/whet-rag", chunks: 19, documents: 6, model: "all-MiniLM-L6-v2")),
            .retrieved(slot: 0, [
                RetrievedChunk(rank: 1, score: 0.585, citation: "bicycle-maintenance.md § Chain care (lines 11–15)", text: ""),
                RetrievedChunk(rank: 2, score: 0.227, citation: "bicycle-maintenance.md § Brakes (lines 18–21)", text: ""),
                RetrievedChunk(rank: 3, score: 0.104, citation: "sourdough.md § Feeding (lines 7–12)", text: ""),
            ]),
            .promptProcessed(slot: 0, tokens: 402, reused: 0),
            .generated(slot: 0, piece: "Replace the chain when a chain checker shows 0.5% wear [1].", tokens: 14, seconds: 0.2),
            .generationFinished(slot: 0, GenerationStats(promptTokens: 402, generatedTokens: 14, promptTokensProcessed: 402,
                                                         promptTokensPerSecond: 900, tokensPerSecond: 70, stopReason: "end_of_generation")),
            .jobEnded(kind: .generation, state: .finished),
        ]
        for e in events { prompt.receive(JobMessage(job: job, event: e)) }
        d.settle()
        #expect(prompt.state.retrievedChunks.count == 3)
        expectMatchesSnapshot(d.text, "prompt-retrieved-\(width)x\(height)")
    }

    /// A tiny index built with the real MiniLM: the pane opens it, retrieves the right passage for the
    /// question and answers from the prompt that cites it (Gemma, a few greedy tokens).
    @Test(.enabled(if: TestModels.hasGemma), .enabled(if: TestModels.hasMiniLM)) func retrievesFromATinyIndexAndAnswersFromIt() throws {
        guard let miniLM = try TestModels.miniLM(), let gemma = try TestModels.gemma() else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whet-rag-pane-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let docs = folder.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try "# Tides\n\nThe Moon's gravity pulls the oceans into two bulges, so most coasts see two high tides a day.\n"
            .write(to: docs.appendingPathComponent("tides.md"), atomically: true, encoding: .utf8)
        try "# Sourdough\n\nA sourdough starter is flour and water fermented by wild yeast and lactic acid bacteria; feed it daily.\n"
            .write(to: docs.appendingPathComponent("sourdough.md"), atomically: true, encoding: .utf8)
        try "# Chess\n\nThe Sicilian Defence answers 1.e4 with 1...c5 and leads to sharp, unbalanced games.\n"
            .write(to: docs.appendingPathComponent("chess.md"), atomically: true, encoding: .utf8)
        let index = folder.appendingPathComponent("index")
        try EmbeddingIndex.build(documents: try DocumentLoader.load(folder: docs), chunker: try Chunker(),
                                 embedder: try SentenceTextEmbedder(folder: miniLM)).save(to: index)

        let d = ShellDriver(modelName: gemma.path, ragIndex: index)
        check(21, d.wait { d.shell.activeModel != nil })
        d.shell.select(pane: 2)
        d.settle()
        let prompt = d.shell.prompt!
        prompt.setPrompt("Why are there two high tides each day?")
        try #require(prompt.sliders[.maxTokens]).set(8)
        try #require(prompt.sliders[.temperature]).set(0)
        prompt.setRetrieval(true)
        check(22, d.wait { prompt.state.retrievalIndex != nil })
        check(23, prompt.state.retrievalIndex == .ready(folder: index.path, chunks: 3, documents: 3, model: "all-MiniLM-L6-v2"),
              "\(String(describing: prompt.state.retrievalIndex))")
        prompt.run()
        check(24, d.wait(timeout: 120) { prompt.state.runningJob == nil })
        check(25, prompt.state.error == nil, prompt.state.error ?? "")
        check(26, prompt.state.retrievedChunks.count == 3)
        check(27, prompt.state.retrievedChunks.first?.citation.hasPrefix("tides.md") == true,
              prompt.state.retrievedChunks.map(\.citation).joined(separator: "; "))
        check(28, zip(prompt.state.retrievedChunks, prompt.state.retrievedChunks.dropFirst()).allSatisfy { $0.score >= $1.score })
        check(29, !prompt.state.output.isEmpty && prompt.state.generatedTokens > 0)
        // The model was given RAGPromptBuilder's prompt (passages + question), far longer than the question.
        check(30, (prompt.state.promptTokenCount ?? 0) > 60, "\(prompt.state.promptTokenCount ?? -1)")
        d.now += 10
        d.settle()
        check(31, d.text.contains("[1]") && d.text.contains("tides.md"), d.text)
    }
}
