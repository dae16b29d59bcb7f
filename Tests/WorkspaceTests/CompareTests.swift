import Engine
import Foundation
import Testing
import TestSupport
import Training
@testable import Comparison
@testable import Workspace

private func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("whet-cmp-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite(.serialized) struct CompareTests {
    @Test func refusesWhatItCannotRunBeforeRunningAnything() throws {
        let store = try WorkspaceStore(folder: try temporaryFolder())
        let pid = try #require(try store.project(named: "p").id)
        let runner = CompareRunner(store: store, projectId: pid)
        let plain = CompareConfiguration(model: "m")
        #expect(throws: CompareError.noConfigurations) { try runner.run(configurations: [plain], inputs: ["x"]) }
        #expect(throws: CompareError.noInputs) { try runner.run(configurations: [plain, plain], inputs: []) }
        #expect(throws: CompareError.adapterMissing("/nonexistent-adapter")) {
            try runner.run(configurations: [plain, CompareConfiguration(model: "m", adapter: "/nonexistent-adapter")], inputs: ["x"])
        }
        #expect(throws: CompareError.promptNotFound(name: "nope", version: nil)) {
            try runner.run(configurations: [plain, CompareConfiguration(model: "m", prompt: "nope")], inputs: ["x"])
        }
        let body = String(decoding: try JSONEncoder().encode(PromptFile(template: "Summarise.")), as: UTF8.self)
        try store.savePrompt(projectId: pid, name: "fixed", body: body)
        #expect(throws: CompareError.promptWithoutInput(name: "fixed")) {
            try runner.run(configurations: [plain, CompareConfiguration(model: "m", prompt: "fixed")], inputs: ["x"])
        }
        // Nothing ran, so nothing was recorded.
        #expect(try store.runs().isEmpty)
    }

    @Test func configurationJSONUsesSnakeCaseAndDefaults() throws {
        let c = try JSONDecoder().decode(CompareConfiguration.self, from: Data("""
        {"prompt": "p", "prompt_version": 2, "max_tokens": 5, "sampler": {"temperature": 0}}
        """.utf8))
        #expect(c.model == ModelLocator.defaultModelName)
        #expect(c.promptVersion == 2 && c.maxTokens == 5 && c.sampler?.temperature == 0 && c.stop.isEmpty)
        #expect(c.label(at: 1) == "B")
        let back = try JSONDecoder().decode(CompareConfiguration.self, from: Data(c.json.utf8))
        #expect(back == c)
    }

    /// Two configurations (bare input vs a saved prompt version) on two inputs with Gemma: outputs
    /// stored per cell equal a direct generation of the same prompt; a pick exports as DPO data.
    @Test(.enabled(if: TestModels.hasGemma)) func runsConfigurationsStoresOutputsAndExportsPicks() throws {
        let gemma = try #require(try TestModels.gemma())
        let folder = try temporaryFolder()
        let store = try WorkspaceStore(folder: folder)
        let pid = try #require(try store.project(named: "cmp").id)
        var promptFile = PromptFile(template: "Answer in French: {{input}}", system: "You are terse.")
        promptFile.maxTokens = 99 // overridden by the configuration below
        try store.savePrompt(projectId: pid, name: "french", body: String(decoding: try JSONEncoder().encode(promptFile), as: UTF8.self))
        let greedy = SamplerSettings.greedy
        let configurations = [
            CompareConfiguration(name: "plain", model: gemma.path, sampler: greedy, maxTokens: 6),
            CompareConfiguration(model: gemma.path, prompt: "french", sampler: greedy, maxTokens: 6),
        ]
        let inputs = ["What colour is the sky?", "Name a {{big}} animal."]
        var events: [CompareEvent] = []
        let compared = try CompareRunner(store: store, projectId: pid).run(configurations: configurations, inputs: inputs) { event in
            events.append(event)
            return .proceed
        }
        #expect(compared.run.status == .completed)
        #expect(compared.inputs == inputs)
        #expect(events.filter { if case .cellFinished = $0 { return true } else { return false } }.count == 4)

        let loaded = try LoadedTextModel.open(gemma)
        let chat = try loaded.chatTemplate(named: "auto")
        for (i, input) in inputs.enumerated() {
            for j in 0..<2 {
                let cell = try #require(compared.outputs[i][j])
                #expect(cell.error == nil)
                #expect(cell.generatedTokens > 0 && cell.generatedTokens <= 6)
                // The stored prompt is what the model saw; regenerate it directly and compare.
                let expectedPrompt = j == 0
                    ? try chat.render([.user(input)])
                    : try chat.render([.system("You are terse."), .user("Answer in French: \(input)")])
                #expect(cell.prompt == expectedPrompt)
                let ids = try loaded.encode(cell.prompt, parseSpecialTokens: true)
                let direct = try loaded.generator.generate(GenerationJob(promptTokens: ids, sampler: greedy, maxTokens: 6,
                                                                         stopSequences: ["<end_of_turn>"]))
                #expect(cell.output == direct.text)
            }
        }
        // Streamed pieces add up to the stored outputs.
        var streamed = Array(repeating: Array(repeating: "", count: 2), count: 2)
        for case let .token(i, j, text) in events { streamed[i][j] += text }
        #expect(streamed == compared.outputs.map { $0.map { $0?.output ?? "" } })

        try store.recordPick(runId: compared.run.id, inputIndex: 0, a: 0, b: 1, choice: .b, note: "French was asked")
        try store.recordPick(runId: compared.run.id, inputIndex: 1, a: 0, b: 1, choice: .tie)
        #expect(throws: CompareError.self) { try store.recordPick(runId: compared.run.id, inputIndex: 5, a: 0, b: 1, choice: .a) }
        #expect(throws: CompareError.self) { try store.recordPick(runId: compared.run.id, inputIndex: 0, a: 0, b: 0, choice: .a) }
        let reread = try store.compareRun(id: compared.run.id)
        #expect(reread.picks.map(\.choice) == [.b, .tie])
        #expect(reread.picks.first?.note == "French was asked")
        #expect(reread.outputs == compared.outputs)

        let url = folder.appendingPathComponent("dpo.jsonl")
        #expect(try store.exportPreferences(projectId: pid, runId: compared.run.id, to: url) == 1)
        let dataset = try Dataset.load(path: url.path)
        let out0 = try #require(compared.outputs[0][0]), out1 = try #require(compared.outputs[0][1])
        #expect(dataset.examples.map(\.record) == [.preference(prompt: inputs[0], chosen: out1.output, rejected: out0.output)])
    }

    @Test(.enabled(if: TestModels.hasGemma)) func compareCommandRunsPicksAndExports() throws {
        let gemma = try #require(try TestModels.gemma())
        let folder = try temporaryFolder()
        let config = "{\"model\": \"\(gemma.path)\", \"sampler\": {\"temperature\": 0}, \"max_tokens\": 3}"
        let hot = "{\"name\": \"hot\", \"model\": \"\(gemma.path)\", \"sampler\": {\"temperature\": 1.5, \"seed\": 7}, \"max_tokens\": 3}"
        let run = try TestModels.runWhet(["compare", "run", "--workspace", folder.path, "--json", "--config", config, "--config", hot,
                                          "--input", "Say hi."])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let id = try #require(report["run_id"] as? String)
        let outputs = try #require(report["outputs"] as? [[String: Any]])
        #expect(outputs.count == 2)
        #expect(outputs.map { $0["label"] as? String } == ["A", "hot"])

        let pick = try TestModels.runWhet(["compare", "pick", id, "--input", "0", "--choice", "a", "--note", "calmer",
                                           "--workspace", folder.path, "--json"])
        #expect(pick.status == 0, "\(pick.stderr)")
        let bad = try TestModels.runWhet(["compare", "pick", id, "--input", "0", "--choice", "maybe", "--workspace", folder.path])
        #expect(bad.status != 0 && bad.stderr.contains("a, b or tie"))

        let out = folder.appendingPathComponent("prefs.jsonl")
        let export = try TestModels.runWhet(["compare", "export", "--out", out.path, "--workspace", folder.path, "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains("\"pairs\":1"))
        let dataset = try Dataset.load(path: out.path)
        #expect(dataset.examples.count == 1)
        #expect(dataset.examples.first.map { if case .preference(let p, _, _) = $0.record { return p == "Say hi." } else { return false } } == true)
    }
}
