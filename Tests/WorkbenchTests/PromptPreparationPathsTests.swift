import Engine
import Foundation
import Server
import TestSupport
import Testing
@testable import Workbench

/// One request (a system and a user message, the model's own template) through the three callers
/// that prepare prompts: the command line (`whet generate --dry-run`), the server's backend and the
/// workbench's Prompt pane. They must read the same token ids and stop on the same sequences.
@Suite struct PromptPreparationPathsTests {
    struct DryRun: Decodable {
        let prompt_token_ids: [Int32]
        let stop_sequences: [String]
    }

    @Test(.enabled(if: TestModels.hasGemma)) func cliServerAndWorkbenchPrepareTheSameJob() async throws {
        let gemma = try #require(try TestModels.gemma())
        let system = "You answer in one sentence."
        let user = "What is a whetstone for? Use <b>bold</b> {{no}} placeholders."
        let loaded = try LoadedTextModel.open(gemma, contextLength: 1024)

        let workbench = try ModelHost.prepare(loaded, system: system, user: user, maxTokens: 32)

        let modelID = gemma.deletingPathExtension().lastPathComponent
        let backend = try EngineBackend(textModel: loaded, textModelID: modelID, sessions: 1, embedder: nil, embeddingModelID: "")
        let request = GenerationRequest(model: modelID, prompt: .chat([.system(system), .user(user)]), maxTokens: 32,
                                        sampling: SamplerSettings(), stop: [])
        let server = try await backend.prepare(request).job

        let run = try TestModels.runWhet(["generate", "--model", gemma.path, "--system", system, "--prompt", user,
                                          "--template", "auto", "--max-tokens", "32", "--dry-run", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let cli = try JSONDecoder().decode(DryRun.self, from: Data(run.stdout.utf8))

        #expect(workbench.promptTokens.count > 10)
        #expect(server.promptTokens == workbench.promptTokens)
        #expect(cli.prompt_token_ids == workbench.promptTokens)
        #expect(server.stopSequences == workbench.stopSequences)
        #expect(cli.stop_sequences == workbench.stopSequences)
        // The template's end-of-turn marker stops every path (models that spell it out).
        #expect(workbench.stopSequences == ["<end_of_turn>"])
    }
}
