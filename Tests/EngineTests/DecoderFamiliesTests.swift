import Foundation
import Testing
@testable import Engine

// The shared decoder on the tiny random-weight family GGUFs (Fixtures/families,
// scripts/make_family_ggufs.py) against llama.cpp's outputs on them
// (scripts/make_family_llamacpp_refs.py: logits.jsonl, greedy.jsonl, perplexity.json; F32 KV cache,
// no flash attention).

private struct DecoderFixtureError: Error, CustomStringConvertible { let description: String }

private func familiesURL(_ name: String) throws -> URL {
    guard let dir = Bundle.module.url(forResource: "families", withExtension: nil, subdirectory: "Fixtures") else {
        throw DecoderFixtureError(description: "missing fixture folder Fixtures/families")
    }
    return dir.appendingPathComponent(name)
}

private func jsonLines(_ name: String) throws -> [[String: Any]] {
    let data = try Data(contentsOf: try familiesURL(name))
    return try String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.isEmpty }.map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw DecoderFixtureError(description: "bad line in \(name): \(line.prefix(80))")
        }
        return object
    }
}

private func numbers(_ value: Any?) -> [Double] { (value as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? [] }

/// The model files of the llama / qwen2 / qwen3 families.
private let familyModels = ["llama-bpe", "llama-spm", "phi3", "qwen2", "qwen3"].flatMap { family in
    ["f32", "f16", "q8_0", "q4_k_m"].map { "\(family)-\($0).gguf" }
} + ["llama-d256-q4_k_m.gguf"]

/// The tiny Gemma 3 files (6 layers, window 8) through the same entry point, and Gemma 2's.
private let gemmaModels = ["gemma2", "gemma3"].flatMap { family in ["f32", "f16", "q8_0", "q4_k_m"].map { "\(family)-\($0).gguf" } }

/// max |ours − llama.cpp| over the logits, relative to the spread (max − min) of llama.cpp's.
private func relativeError(_ ours: [Float], _ reference: [Double]) -> Double {
    guard let high = reference.max(), let low = reference.min(), high > low else { return .infinity }
    var worst = 0.0
    for (a, b) in zip(ours, reference) { worst = max(worst, abs(Double(a) - b)) }
    return worst / (high - low)
}

/// Largest relative logit error allowed. llama/qwen2/qwen3, every type: 1e-3 (issue #15's bound for
/// F32/F16). The quantized products round activations to 8 bits per block exactly as llama.cpp does,
/// so on these files the measured maxima are ≤ 1e-7 for Q8_0/Q5_0/Q4_K/Q6_K, ≤ 5.4e-7 for F32 and
/// ≤ 7.8e-4 for F16 (llama.cpp rounds activations to fp16 for F16 weights; we keep fp32).
/// gemma3 quantized: 1e-2. llama.cpp evaluates GELU through an fp16 table (docs/gemma3.md); that
/// moves the F32 file's logits by 8.7e-5 of the spread, and before an 8-bit activation rounding such a
/// difference can flip a rounded value by one step, so Q8_0/Q4_K_M reach 6.1e-3 / 5.0e-3 measured.
private func tolerance(_ model: String) -> Double {
    model.hasPrefix("gemma3-q") || model.hasPrefix("gemma2-q") ? 1e-2 : 1e-3
}

@Suite("Decoder families against llama.cpp")
struct DecoderFamiliesTests {
    @Test("last-token logits equal llama.cpp's within 1e-3 of their spread (gemma3 quantized: 1e-2)", arguments: familyModels + gemmaModels)
    func logits(model: String) throws {
        let line = try #require(try jsonLines("logits.jsonl").first { $0["model"] as? String == model })
        let ids = numbers(line["prompt_ids"]).map { Int32($0) }
        let reference = numbers(line["logits"])
        let decoder = try TransformerDecoder(path: try familiesURL(model).path)
        #expect(decoder.configuration.architecture == String(model.prefix { $0 != "-" }))
        let tokenizer = try #require(decoder.file).tokenizer()
        let prompt = try #require(line["prompt"] as? String)
        #expect(tokenizer.encode(prompt, addSpecial: true, parseSpecial: true) == ids)
        let logits = Array(try decoder.makeSession(contextLength: 64).evaluate(ids))
        #expect(logits.count == reference.count)
        let error = relativeError(logits, reference)
        print("\(model): last-token logits, max |Δ| / spread = \(error)")
        #expect(error <= tolerance(model), "\(model): \(error)")
    }

    /// Quantized products and the attention kernels are canonical-order, so a position's logits do
    /// not depend on how the prompt was batched. F32/F16 products of a batch go through sgemm
    /// (docs/gemma3.md, "Same results on every CPU"), so there only closeness is required.
    @Test("the same logits token by token, in small batches and in one batch",
          arguments: ["llama-bpe-q8_0.gguf", "llama-d256-q4_k_m.gguf", "qwen2-q8_0.gguf", "qwen3-q4_k_m.gguf", "qwen2-f16.gguf", "qwen3-f32.gguf"])
    func batching(model: String) throws {
        let decoder = try TransformerDecoder(path: try familiesURL(model).path)
        let tokens: [Int32] = [5, 17, 300, 42, 999, 7, 12, 64, 128, 3, 77]
        let whole = Array(try decoder.makeSession(contextLength: 32).evaluate(tokens))
        let stepwise = decoder.makeSession(contextLength: 32)
        var last: [Float] = []
        for t in tokens { last = Array(try stepwise.evaluate(token: t)) }
        let split = decoder.makeSession(contextLength: 32, maximumBatchSize: 4)
        let splitLogits = Array(try split.evaluate(tokens))
        if model.contains("-f") {
            let spread = Double((whole.max() ?? 0) - (whole.min() ?? 0))
            let stepError = zip(whole, last).map { Double(abs($0 - $1)) }.max() ?? .infinity
            let splitError = zip(whole, splitLogits).map { Double(abs($0 - $1)) }.max() ?? .infinity
            #expect(stepError <= 1e-5 * spread && splitError <= 1e-5 * spread, "\(model): \(stepError), \(splitError) of \(spread)")
        } else {
            #expect(whole.map(\.bitPattern) == last.map(\.bitPattern), "\(model): token by token")
            #expect(whole.map(\.bitPattern) == splitLogits.map(\.bitPattern), "\(model): batches of 4")
        }
    }

    @Test("greedy continuations equal llama.cpp's up to its first top-2 gap below 0.05", arguments: familyModels + gemmaModels)
    func greedy(model: String) throws {
        let runs = try jsonLines("greedy.jsonl").filter { $0["model"] as? String == model }
        #expect(runs.count == 3)
        let decoder = try TransformerDecoder(path: try familiesURL(model).path)
        var worstTop = 0.0
        for run in runs {
            let prompt = numbers(run["prompt_ids"]).map { Int32($0) }
            let steps = try #require(run["steps"] as? [[String: Any]])
            let session = decoder.makeSession(contextLength: 64)
            var logits = try session.evaluate(prompt)
            for (index, step) in steps.enumerated() {
                let gap = (step["gap"] as? NSNumber)?.doubleValue ?? 0
                guard gap >= 0.05 else { break }
                let expected = Int32((step["token"] as? NSNumber)?.intValue ?? -1)
                let ours = Int32(logits.withUnsafeBufferPointer { DecoderSession.argmax($0) })
                #expect(ours == expected, "\(model), prompt \(prompt.prefix(6)), step \(index): \(ours) ≠ llama.cpp's \(expected)")
                guard ours == expected else { break }
                for pair in (step["top"] as? [[Any]]) ?? [] {
                    guard let id = (pair.first as? NSNumber)?.intValue, let value = (pair.last as? NSNumber)?.doubleValue else { continue }
                    worstTop = max(worstTop, abs(Double(logits[id]) - value))
                }
                logits = try session.evaluate(token: expected)
            }
        }
        print("\(model): greedy top-5 logits max |Δ| = \(worstTop)")
    }

    @Test("perplexity within 0.5% of llama-perplexity's (-c 64)", arguments: familyModels + gemmaModels)
    func perplexity(model: String) throws {
        let data = try Data(contentsOf: try familiesURL("perplexity.json"))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let entry = try #require(all[model] as? [String: Any])
        let expected = try #require((entry["perplexity"] as? NSNumber)?.doubleValue)
        let decoder = try TransformerDecoder(path: try familiesURL(model).path)
        let tokenizer = try #require(decoder.file).tokenizer()
        let text = try String(contentsOf: try familiesURL("perplexity.txt"), encoding: .utf8)
        let tokens = tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let session = decoder.makeSession(contextLength: 64, maximumBatchSize: 64)
        let result = try ChunkedPerplexity.evaluate(tokens: tokens, context: 64,
                                             beginningOfSequence: tokenizer.addBOSByDefault ? tokenizer.bosID : nil,
                                             session: session, firstScoredRow: 32)
        let relative = abs(result.perplexity - expected) / expected
        print("\(model): perplexity \(result.perplexity) vs llama.cpp \(expected) (\(relative * 100)%)")
        #expect(relative <= 0.005, "\(model): \(result.perplexity) vs \(expected)")
    }

    @Test("an unknown architecture is a one-line error naming the supported ones")
    func unknownArchitecture() throws {
        let error = ModelError.unsupportedArchitecture(path: "m.gguf", found: "mamba", supported: TransformerDecoder.supportedArchitectures)
        #expect(!error.description.contains("\n"))
        #expect(error.description.contains("'mamba'"))
        for name in TransformerDecoder.supportedArchitectures { #expect(error.description.contains(name)) }
        // A file of another architecture (the tiny synthetic Gemma written as 'mamba').
        let tiny = TinyGemma()
        let url = try tiny.write(tiny.writer(architecture: "mamba"))
        #expect(throws: ModelError.unsupportedArchitecture(path: url.path, found: "mamba",
                                                           supported: TransformerDecoder.supportedArchitectures)) {
            try TransformerDecoder(path: url.path)
        }
        // The synthetic Gemma itself opens through the same entry point.
        let gemma = try TransformerDecoder(path: try tiny.write(tiny.writer()).path)
        #expect(gemma.configuration.architecture == "gemma3")
    }

    @Test("LoadedTextModel opens a llama GGUF with its BPE tokenizer and generates")
    func loadedTextModel() throws {
        let loaded = try LoadedTextModel.open(try familiesURL("llama-bpe-q8_0.gguf"), contextLength: 64)
        #expect(loaded.architecture == "llama")
        #expect(loaded.addsBeginningOfSequence)
        let ids = try loaded.encode("The quick brown fox")
        #expect(ids.count > 1)
        #expect(loaded.specialTokens.bos == "<|begin_of_text|>")
        _ = try loaded.chatTemplate(named: "auto")
    }
}
