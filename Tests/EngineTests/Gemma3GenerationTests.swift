import Foundation
import Testing
import TestSupport
@testable import Engine

/// Greedy continuations and perplexity on the real model against llama.cpp's outputs
/// (Fixtures/gemma3-greedy.jsonl, Fixtures/gemma3-perplexity.txt; see Fixtures/README.md).
@Suite(.serialized) struct Gemma3GenerationTests {
    /// Every prompt of greedy.jsonl against llama.cpp's per-step logits (gemma3-greedy-steps.jsonl,
    /// made by scripts/make_gemma3_llamacpp_steps.py with the reference build; Fixtures/README.md).
    /// Run forced along llama.cpp's tokens, our logits of llama.cpp's top-5 tokens stay close to its
    /// own at every step, and wherever our argmax is not llama.cpp's token, that step is a near-tie
    /// in llama.cpp's logits and in ours. Why near-ties flip at all, and why the bound is not 0.05:
    /// docs/gemma3.md ("Numerics against llama.cpp").
    @Test(.enabled(if: TestModels.hasGemma)) func greedyMatchesLlamaCppExceptAtNearTies() throws {
        let url = try #require(try TestModels.gemma())
        let model = try Gemma3Model(path: url.path)
        let tokenizer = try SentencePieceTokenizer(gguf: model.file)
        let session = model.makeSession(contextLength: 128)
        let texts = try Gemma3ReferenceTests.jsonLines("gemma3-greedy.jsonl")
        let runs = try Gemma3ReferenceTests.jsonLines("gemma3-greedy-steps.jsonl")
        #expect(runs.count == texts.count)
        var exact = 0, worstDeviation: Float = 0
        var deviations: [Float] = []
        for (line, run) in zip(texts, runs) {
            let prompt = try #require(line["prompt"] as? String)
            let maxTokens = try #require(line["max_tokens"] as? Int)
            let expected = try #require(line["greedy_output"] as? String)
            let reference = try #require(run["generated_ids"] as? [Int]).map(Int32.init)
            let steps = try #require(run["steps"] as? [[String: Any]])
            let ids = tokenizer.encode(prompt, addBOS: true, parseSpecial: true)
            #expect(ids == (try #require(run["prompt_ids"] as? [Int])).map(Int32.init))
            #expect(tokenizer.decode(reference) == expected, "the steps fixture follows greedy.jsonl")
            session.reset()
            let result = try session.generateGreedy(prompt: ids, maxTokens: maxTokens, stopTokens: [1, 106])
            if result.tokenIds == reference { exact += 1 }

            session.reset()
            var logits = Array(try session.evaluate(ids))
            var diverged = false
            for (step, want) in reference.enumerated() {
                let llama = steps[step]
                let top = try #require(llama["top"] as? [[Double]])
                let llamaGap = try #require(llama["gap"] as? Double)
                #expect(Int32(top[0][0]) == want)
                var stepDeviation: Float = 0
                for pair in top {
                    stepDeviation = max(stepDeviation, abs(logits[Int(pair[0])] - Float(pair[1])))
                }
                worstDeviation = max(worstDeviation, stepDeviation)
                deviations.append(stepDeviation)
                let ours = logits.indices.max { logits[$0] < logits[$1] } ?? 0
                if ours != Int(want) {
                    let ourLead = logits[ours] - logits[Int(want)]
                    // The bound is llama.cpp's own spread, not one machine's measurement: its flash-attention
                    // and plain-attention runs of the same build part ways at steps whose top-two gap is up
                    // to 0.716 (numpy step 10; docs/gemma3.md), so a divergence is a near-tie when both
                    // gaps are below 0.75. Seen so far: llama.cpp's gaps 0.020-0.716, our leads 0.10-0.26.
                    #expect(llamaGap < 0.75 && ourLead < 0.75,
                            "\(prompt.debugDescription) step \(step): llama.cpp's gap \(llamaGap), ours leads by \(ourLead)")
                    if !diverged { #expect(result.tokenIds[step] == Int32(ours)) }
                    diverged = true
                }
                logits = Array(try session.evaluate(token: want))
            }
            #expect(diverged == (result.tokenIds != reference))
        }
        // llama.cpp with flash attention off, forced along the same tokens, is this far from its own
        // flash-attention run: max 1.61, 90th percentile 0.67 (docs/gemma3.md). Ours measured: 1.58 / 0.68.
        let sorted = deviations.sorted()
        #expect(sorted.count == 104)
        #expect(worstDeviation < 1.7, "largest |ours − llama.cpp| over the top-5 logits of a step: \(worstDeviation)")
        #expect(sorted[sorted.count * 9 / 10] < 0.75, "90th percentile \(sorted[sorted.count * 9 / 10])")
        #expect(exact >= 1)
    }

    /// llama-perplexity -c 256 printed PPL = 22.9931 on this text (reference README); within 1%.
    @Test(.enabled(if: TestModels.hasGemma)) func perplexityMatchesLlamaPerplexity() throws {
        let url = try #require(try TestModels.gemma())
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
