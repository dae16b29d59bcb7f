import Foundation
import Testing
import TestSupport
@testable import Engine

/// A tiny random Gemma 3 (F32 weights, so the forward pass is plain fp32 and finite differences are
/// meaningful): 3 layers, window 4, every 3rd layer global, 2 query heads sharing 1 KV head.
enum TinyTrainableGemma {
    static let vocab = 40, d = 16, ff = 24, layers = 3, heads = 2, kvHeads = 1, headDim = 8

    static func write(seed: UInt64 = 11) throws -> URL {
        var rng = SeededGenerator(seed: seed)
        func random(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) } }
        func norm(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: 0.6...1.4, using: &rng) } }
        var w = GGUFWriter()
        w.set("general.architecture", .string("gemma3"))
        w.set("gemma3.context_length", .uint32(64))
        w.set("gemma3.embedding_length", .uint32(UInt32(d)))
        w.set("gemma3.block_count", .uint32(UInt32(layers)))
        w.set("gemma3.feed_forward_length", .uint32(UInt32(ff)))
        w.set("gemma3.attention.head_count", .uint32(UInt32(heads)))
        w.set("gemma3.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("gemma3.attention.key_length", .uint32(UInt32(headDim)))
        w.set("gemma3.attention.value_length", .uint32(UInt32(headDim)))
        w.set("gemma3.attention.layer_norm_rms_epsilon", .float32(1e-6))
        w.set("gemma3.rope.freq_base", .float32(1_000_000))
        w.set("gemma3.attention.sliding_window", .uint32(4))
        w.set("gemma3.attention.sliding_window_pattern", .uint32(3))
        w.addTensor(name: "token_embd.weight", dimensions: [d, vocab], values: random(d * vocab, scale: 0.5))
        w.addTensor(name: "output_norm.weight", dimensions: [d], values: norm(d))
        for i in 0..<layers {
            let p = "blk.\(i)."
            w.addTensor(name: p + "attn_norm.weight", dimensions: [d], values: norm(d))
            w.addTensor(name: p + "attn_q.weight", dimensions: [d, heads * headDim], values: random(d * heads * headDim, scale: 0.4))
            w.addTensor(name: p + "attn_k.weight", dimensions: [d, kvHeads * headDim], values: random(d * kvHeads * headDim, scale: 0.4))
            w.addTensor(name: p + "attn_v.weight", dimensions: [d, kvHeads * headDim], values: random(d * kvHeads * headDim, scale: 0.4))
            w.addTensor(name: p + "attn_q_norm.weight", dimensions: [headDim], values: norm(headDim))
            w.addTensor(name: p + "attn_k_norm.weight", dimensions: [headDim], values: norm(headDim))
            w.addTensor(name: p + "attn_output.weight", dimensions: [heads * headDim, d], values: random(d * heads * headDim, scale: 0.4))
            w.addTensor(name: p + "post_attention_norm.weight", dimensions: [d], values: norm(d))
            w.addTensor(name: p + "ffn_norm.weight", dimensions: [d], values: norm(d))
            w.addTensor(name: p + "ffn_gate.weight", dimensions: [d, ff], values: random(d * ff, scale: 0.4))
            w.addTensor(name: p + "ffn_up.weight", dimensions: [d, ff], values: random(d * ff, scale: 0.4))
            w.addTensor(name: p + "ffn_down.weight", dimensions: [ff, d], values: random(d * ff, scale: 0.4))
            w.addTensor(name: p + "post_ffw_norm.weight", dimensions: [d], values: norm(d))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-trainable-gemma-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("tiny.gguf")
        try w.write(to: url)
        return url
    }
}

@Suite struct Gemma3TrainableTests {
    let tokens = [2, 17, 5, 33, 8, 8, 21, 39, 0, 12, 30, 4]

    @Test func forwardEqualsTheInferenceSessionOnTinyGemma() throws {
        let model = try Gemma3Model(path: try TinyTrainableGemma.write().path)
        let trainable = try Gemma3TrainableModel(model: model, lora: LoRAConfiguration(rank: 2, targets: LoRATarget.allCases))
        // B starts at zero: with adapters on the model is exactly the base.
        let logits = try trainable.logits(tokens: tokens)
        let v = TinyTrainableGemma.vocab
        var maxDiff: Float = 0
        try model.makeSession().evaluateAll(tokens.map { Int32($0) }) { row, reference in
            for j in 0..<v { maxDiff = max(maxDiff, abs(logits.basePointer[row * v + j] - reference[j])) }
        }
        // Both are fp32 over the same F32 weights; only summation order differs.
        #expect(maxDiff < 1e-4)
    }

    @Test func loRAGradientsMatchFiniteDifferencesOnTinyGemma() throws {
        let model = try Gemma3Model(path: try TinyTrainableGemma.write().path)
        let trainable = try Gemma3TrainableModel(model: model, lora: LoRAConfiguration(rank: 2, alpha: 4, dropout: 0.1,
                                                                                        targets: LoRATarget.allCases), seed: 3)
        // Non-zero B so every path through A and B carries gradient.
        var rng = SeededGenerator(seed: 5)
        for p in trainable.trainableParameters where p.name.contains("lora_B") {
            for i in 0..<p.value.count { p.value.basePointer[i] = rng.nextNormal() * 0.2 }
        }
        #expect(trainable.trainableParameters.count == 2 * 7 * TinyTrainableGemma.layers)
        // Two sequences of 6 (longer than the window of 4), one target ignored.
        var targets = Array(tokens.dropFirst()) + [1]
        targets[3] = Graph.ignoreIndex
        let batch = try TokenBatch(tokens: tokens, targets: targets, sequenceLength: 6)
        let results = try GradientCheck.run(parameters: trainable.trainableParameters, maxElementsPerParameter: 6) { g in
            try trainable.tokenLogProbs(g, batch: batch, adapters: true, dropoutSeed: 99)
        }
        for r in results {
            #expect(r.relativeError < 1e-3, "\(r)")
        }
        // Adapters off: the base alone, and nothing to differentiate.
        let off = try trainable.evaluateLogProbs(batch: batch, adapters: false)
        let on = try trainable.evaluateLogProbs(batch: batch, adapters: true)
        #expect(zip(off, on).contains { abs($0 - $1) > 1e-3 })
        #expect(off[3] == 0 && on[3] == 0)
    }

    @Test func outputLogProbsEqualLogSoftmaxOfTheFullLogits() throws {
        let model = try Gemma3Model(path: try TinyTrainableGemma.write().path)
        let trainable = try Gemma3TrainableModel(model: model, lora: nil)
        let batch = try TokenBatch(sequence: tokens)
        let logProbs = try trainable.evaluateLogProbs(batch: batch)
        let logits = try trainable.logits(tokens: batch.tokens)
        let v = TinyTrainableGemma.vocab
        for (r, target) in batch.targets.enumerated() {
            let row = (0..<v).map { Double(logits.basePointer[r * v + $0]) }
            let m = row.max() ?? 0
            let expected = row[target] - (m + log(row.map { exp($0 - m) }.reduce(0, +)))
            #expect(abs(Double(logProbs[r]) - expected) < 1e-4)
        }
    }

    @Test func keptAndRecomputedOutputLogitsGiveTheSameGradient() throws {
        let model = try Gemma3Model(path: try TinyTrainableGemma.write().path)
        let hidden = Tensor(shape: [5, TinyTrainableGemma.d])
        var rng = SeededGenerator(seed: 2)
        for i in 0..<hidden.count { hidden.basePointer[i] = rng.nextNormal() }
        let targets = [3, Graph.ignoreIndex, 7, 39, 0]
        var results: [([Float], [Float])] = []
        for budget in [Int.max, 0] {
            let g = Graph()
            let h = g.input(hidden, requiresGrad: true)
            let lp = try g.outputLogProbs(hidden: h, head: model.tokenEmbedding, targets: targets, chunkRows: 2,
                                          keptLogitsBudget: budget)
            try g.backward(g.sum(lp))
            results.append((g.value(lp).toArray(), try #require(g.grad(h)).toArray()))
        }
        // One product of 4 rows against two of 2: only fp32 summation order differs.
        #expect(zip(results[0].0, results[1].0).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(zip(results[0].1, results[1].1).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(results[0].1[TinyTrainableGemma.d..<(2 * TinyTrainableGemma.d)].allSatisfy { $0 == 0 })
    }

    /// Gemma 3 270M Q4_K_M: the trainable graph (quantized weights straight from the blocks) gives the
    /// logits of the inference session for a short prompt.
    @Test(.enabled(if: TestModels.hasGemma)) func realGemmaLogitsEqualTheSession() throws {
        let url = try #require(try TestModels.gemma())
        let model = try Gemma3Model(path: url.path)
        let ids = [2, 818, 5279, 529, 7001, 563, 496, 3207, 236761, 1030, 531]
        let trainable = try Gemma3TrainableModel(model: model, lora: LoRAConfiguration(rank: 8))
        let logits = try trainable.logits(tokens: ids)
        let v = model.hyperparameters.vocabularySize
        // The noise floor on this prompt: the session against itself with fp16 roundings of its keys,
        // values, queries and GELU (`.llamaCpp`), i.e. the same model with other last bits. Activations
        // are rounded to 8 bits before every quantized product, so fp32-level differences move some
        // logits by tenths. (The batched and token-by-token paths were the measure until they became
        // bit-identical, KernelLevelTests.gemmaLogitsDoNotDependOnBatching.)
        let batched = model.makeSession()
        var reference: [[Float]] = []
        try batched.evaluateAll(ids.map { Int32($0) }) { _, row in reference.append(Array(row)) }
        let stepwise = model.makeSession(rounding: .llamaCpp)
        var selfDiff: Float = 0, selfSquares = 0.0
        for (i, id) in ids.enumerated() {
            let row = try stepwise.evaluate(token: Int32(id))
            for j in 0..<v {
                let d = row[j] - reference[i][j]
                selfDiff = max(selfDiff, abs(d))
                selfSquares += Double(d * d)
            }
        }
        let selfRMS = (selfSquares / Double(v * ids.count)).squareRoot()
        var maxDiff: Float = 0, squares = 0.0
        var sameArgmax = 0
        for (row, expected) in reference.enumerated() {
            let mine = UnsafeBufferPointer(start: logits.basePointer + row * v, count: v)
            for j in 0..<v {
                let d = mine[j] - expected[j]
                maxDiff = max(maxDiff, abs(d))
                squares += Double(d * d)
            }
            if mine.indices.max(by: { mine[$0] < mine[$1] }) == expected.indices.max(by: { expected[$0] < expected[$1] }) {
                sameArgmax += 1
            }
        }
        let rms = (squares / Double(v * ids.count)).squareRoot()
        print("Gemma 3 270M logits, trainable graph vs session (batched): max |Δ| \(maxDiff), rms \(rms); session fp32 vs fp16 roundings: max |Δ| \(selfDiff), rms \(selfRMS)")
        // Tolerance: within twice the session's own batched-vs-decode spread, a small RMS, same argmax.
        // A wrong graph (a missing norm, a wrong RoPE base or mask) moves logits by whole units everywhere.
        #expect(maxDiff <= 2 * max(selfDiff, 0.25))
        #expect(rms <= 2 * max(selfRMS, 0.05))
        #expect(sameArgmax == ids.count)
    }
}
