import Foundation
import Testing
import TestSupport
@testable import Engine

/// Greedy continuations and perplexity on the real model against llama.cpp's outputs
/// (Fixtures/gemma3-greedy.jsonl, Fixtures/gemma3-perplexity.txt; see Fixtures/README.md).
@Suite(.serialized) struct Gemma3GenerationTests {
    /// Every prompt of greedy.jsonl: our greedy text equals llama.cpp's, or — run with llama.cpp's
    /// tokens forced up to the first step where the argmax differs — that step is a near-tie in our
    /// logits (llama.cpp quantizes activations and keeps an fp16 cache, so close pairs can flip).
    @Test func greedyMatchesLlamaCppExceptAtNearTies() throws {
        guard let url = try TestModels.gemma() else { return }
        let model = try Gemma3Model(path: url.path)
        let tokenizer = try SentencePieceTokenizer(gguf: model.file)
        let session = model.makeSession(contextLength: 128)
        var exact = 0
        for case let line in try Gemma3ReferenceTests.jsonLines("gemma3-greedy.jsonl") {
            let prompt = try #require(line["prompt"] as? String)
            let maxTokens = try #require(line["max_tokens"] as? Int)
            let expected = try #require(line["greedy_output"] as? String)
            let ids = tokenizer.encode(prompt, addBOS: true, parseSpecial: true)
            if let reference = line["prompt_ids"] as? [Int] { #expect(ids == reference.map(Int32.init)) }
            session.reset()
            let result = try session.generateGreedy(prompt: ids, maxTokens: maxTokens, stopTokens: [1, 106])
            if tokenizer.decode(result.tokenIds) == expected {
                exact += 1
                continue
            }
            let forced = (line["generated_ids"] as? [Int]).map { $0.map(Int32.init) }
                ?? tokenizer.encode(expected, addBOS: false, parseSpecial: false)
            session.reset()
            var logits = Array(try session.evaluate(ids))
            for (step, want) in forced.enumerated() {
                let ours = logits.indices.max { logits[$0] < logits[$1] } ?? 0
                if ours != Int(want) {
                    let gap = logits[ours] - logits[Int(want)]
                    // Measured (docs/gemma3.md): divergences at steps 3, 8 and 11 where our top logit leads
                    // llama.cpp's token by 0.17, 0.12 and 0.25; fp16-level roundings llama.cpp does and we
                    // do not move these logits by up to ~0.5, so such gaps are noise, not a wrong graph.
                    #expect(gap < 0.26, "\(prompt.debugDescription) step \(step): ours \(ours) leads llama.cpp's \(want) by \(gap)")
                    #expect(step >= 3, "\(prompt.debugDescription) diverges at step \(step)")
                    break
                }
                logits = Array(try session.evaluate(token: want))
            }
        }
        #expect(exact >= 1)
    }

    /// llama-perplexity -c 256 printed PPL = 22.9931 on this text (reference README); within 1%.
    @Test func perplexityMatchesLlamaPerplexity() throws {
        guard let url = try TestModels.gemma() else { return }
        let model = try Gemma3Model(path: url.path)
        let tokenizer = try SentencePieceTokenizer(gguf: model.file)
        let text = try String(contentsOf: Gemma3ReferenceTests.fixture("gemma3-perplexity.txt"), encoding: .utf8)
        let tokens = tokenizer.encode(text, addBOS: true, parseSpecial: false)
        let result = try ChunkedPerplexity.evaluate(tokens: tokens, context: 256, beginningOfSequence: tokenizer.bosID,
                                                    session: model.makeSession(contextLength: 256))
        #expect(result.chunks == 4 && result.tokensScored == 4 * 128)
        #expect(abs(result.perplexity / 22.9931 - 1) < 0.01, "perplexity \(result.perplexity)")
    }
}
