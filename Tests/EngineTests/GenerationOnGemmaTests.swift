import Foundation
import Testing
import TestSupport
@testable import Engine

/// Generation on the real Gemma 3 270M file (skipped outside CI when it is not installed).
@Suite(.serialized) struct GenerationOnGemmaTests {
    struct GreedyCase: Decodable {
        let prompt: String
        let max_tokens: Int
        let prompt_ids: [Int32]?
        let generated_ids: [Int32]?
        let greedy_output: String
    }

    static func greedyCases() throws -> [GreedyCase] {
        let url = try #require(Bundle.module.url(forResource: "gemma3-greedy", withExtension: "jsonl", subdirectory: "Fixtures"))
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(GreedyCase.self, from: Data($0.utf8)) }
    }

    /// Temperature 0 through the generator (sampler, stop tokens, streaming decoder) is the greedy
    /// decoding token for token on every prompt of greedy.jsonl, from an empty cache; and wherever
    /// greedy decoding reproduces llama.cpp's text, so does the generator.
    @Test(.enabled(if: TestModels.hasGemma)) func temperatureZeroEqualsGreedyDecoding() throws {
        let url = try #require(try TestModels.gemma())
        let loaded = try LoadedTextModel.open(url, contextLength: 128)
        let session = try Gemma3Model(path: url.path).makeSession(contextLength: 128)
        var matchedLlamaCpp = 0
        for c in try Self.greedyCases() {
            let ids = try loaded.encode(c.prompt)
            loaded.generator.resetCache()
            let summary = try loaded.generator.generate(GenerationJob(promptTokens: ids, sampler: SamplerSettings(temperature: 0),
                                                                      maxTokens: c.max_tokens))
            session.reset()
            let greedy = try session.generateGreedy(prompt: ids, maxTokens: c.max_tokens, stopTokens: [1, 106])
            #expect(summary.tokenIds == greedy.tokenIds, "\(c.prompt.debugDescription)")
            if summary.text == c.greedy_output { matchedLlamaCpp += 1 }
        }
        #expect(matchedLlamaCpp >= 1)
    }

    /// Moving the temperature re-uses the cached prompt: only its last token is processed again.
    @Test(.enabled(if: TestModels.hasGemma)) func changedTemperatureReusesTheCachedPrompt() throws {
        let url = try #require(try TestModels.gemma())
        let loaded = try LoadedTextModel.open(url, contextLength: 256)
        let ids = try loaded.encode("The recipe for pancakes calls for")
        let first = try loaded.generator.generate(GenerationJob(promptTokens: ids, sampler: SamplerSettings(temperature: 0.7, seed: 5), maxTokens: 8))
        #expect(first.prompt.processedTokens == ids.count)
        let second = try loaded.generator.generate(GenerationJob(promptTokens: ids, sampler: SamplerSettings(temperature: 1.2, seed: 5), maxTokens: 8))
        #expect(second.prompt.processedTokens == 1)
        #expect(second.prompt.reusedTokens == ids.count - 1)
    }

    /// The Gemma chat template tokenizes into the control tokens, and `<end_of_turn>` ends a reply.
    @Test(.enabled(if: TestModels.hasGemma)) func chatTemplateUsesTheTurnTokens() throws {
        let url = try #require(try TestModels.gemma())
        let loaded = try LoadedTextModel.open(url, contextLength: 256)
        let chat = try loaded.chatTemplate(named: "auto")
        #expect(chat.kind == .gemma)
        let ids = try loaded.encode(try chat.render([.user("Hi")]))
        #expect(ids.first == 2)
        #expect(ids[1] == 105)  // <start_of_turn>
        #expect(ids.filter { $0 == 105 }.count == 2 && ids.filter { $0 == 106 }.count == 1)
        #expect(loaded.generator.tokenizer.endOfGenerationTokens.isSuperset(of: [1, 106]))
    }
}
