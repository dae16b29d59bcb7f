import Foundation
import Testing
@testable import Engine

/// A tiny random Gemma 3 (F32 weights) written with GGUFWriter: 3 layers with a sliding window of
/// 4 and every 3rd layer global, 2 query heads sharing 1 KV head.
struct TinyGemma {
    static let vocab = 40, d = 16, ff = 24, layers = 3, heads = 2, kvHeads = 1, headDim = 8
    static let window = 4, pattern = 3, context = 64
    var tensors: [String: (dims: [Int], values: [Float])] = [:]

    init(seed: UInt64 = 7) {
        var rng = SeededGenerator(seed: seed)
        func random(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) }
        }
        func norm(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: 0.6...1.4, using: &rng) } }
        let d = Self.d, hd = Self.headDim
        tensors["token_embd.weight"] = ([d, Self.vocab], random(d * Self.vocab, scale: 0.5))
        tensors["output_norm.weight"] = ([d], norm(d))
        for i in 0..<Self.layers {
            let p = "blk.\(i)."
            tensors[p + "attn_norm.weight"] = ([d], norm(d))
            tensors[p + "attn_q.weight"] = ([d, Self.heads * hd], random(d * Self.heads * hd, scale: 0.4))
            tensors[p + "attn_k.weight"] = ([d, Self.kvHeads * hd], random(d * Self.kvHeads * hd, scale: 0.4))
            tensors[p + "attn_v.weight"] = ([d, Self.kvHeads * hd], random(d * Self.kvHeads * hd, scale: 0.4))
            tensors[p + "attn_q_norm.weight"] = ([hd], norm(hd))
            tensors[p + "attn_k_norm.weight"] = ([hd], norm(hd))
            tensors[p + "attn_output.weight"] = ([Self.heads * hd, d], random(d * Self.heads * hd, scale: 0.4))
            tensors[p + "post_attention_norm.weight"] = ([d], norm(d))
            tensors[p + "ffn_norm.weight"] = ([d], norm(d))
            tensors[p + "ffn_gate.weight"] = ([d, Self.ff], random(d * Self.ff, scale: 0.4))
            tensors[p + "ffn_up.weight"] = ([d, Self.ff], random(d * Self.ff, scale: 0.4))
            tensors[p + "ffn_down.weight"] = ([Self.ff, d], random(d * Self.ff, scale: 0.4))
            tensors[p + "post_ffw_norm.weight"] = ([d], norm(d))
        }
    }

    func writer(architecture: String = "gemma3", skipping: String? = nil) -> GGUFWriter {
        var w = GGUFWriter()
        w.set("general.architecture", .string(architecture))
        w.set("gemma3.context_length", .uint32(UInt32(Self.context)))
        w.set("gemma3.embedding_length", .uint32(UInt32(Self.d)))
        w.set("gemma3.block_count", .uint32(UInt32(Self.layers)))
        w.set("gemma3.feed_forward_length", .uint32(UInt32(Self.ff)))
        w.set("gemma3.attention.head_count", .uint32(UInt32(Self.heads)))
        w.set("gemma3.attention.head_count_kv", .uint32(UInt32(Self.kvHeads)))
        w.set("gemma3.attention.key_length", .uint32(UInt32(Self.headDim)))
        w.set("gemma3.attention.value_length", .uint32(UInt32(Self.headDim)))
        w.set("gemma3.attention.layer_norm_rms_epsilon", .float32(1e-6))
        w.set("gemma3.rope.freq_base", .float32(1_000_000))
        w.set("gemma3.attention.sliding_window", .uint32(UInt32(Self.window)))
        w.set("gemma3.attention.sliding_window_pattern", .uint32(UInt32(Self.pattern)))
        for name in tensors.keys.sorted() where name != skipping {
            let t = tensors[name]!
            w.addTensor(name: name, dimensions: t.dims, values: t.values)
        }
        return w
    }

    func write(_ writer: GGUFWriter) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-gemma-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("tiny.gguf")
        try writer.write(to: url)
        return url
    }

    // MARK: a deliberately plain reference: whole sequence, position by position, in Double

    func matrix(_ name: String) -> (rows: Int, cols: Int, w: [Float]) {
        let t = tensors[name]!
        return (t.dims[1], t.dims[0], t.values)
    }

    func linear(_ name: String, _ x: [Double]) -> [Double] {
        let m = matrix(name)
        return (0..<m.rows).map { r in (0..<m.cols).reduce(0.0) { $0 + Double(m.w[r * m.cols + $1]) * x[$1] } }
    }

    func rmsnorm(_ x: [Double], _ name: String) -> [Double] {
        let w = tensors[name]!.values
        let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let s = 1 / (ms + 1e-6).squareRoot()
        return x.enumerated().map { $0.element * s * Double(w[$0.offset]) }
    }

    func rope(_ x: [Double], position: Int, base: Double) -> [Double] {
        let half = x.count / 2
        var y = x
        for i in 0..<half {
            let angle = Double(position) * pow(base, -2 * Double(i) / Double(x.count))
            y[i] = x[i] * cos(angle) - x[i + half] * sin(angle)
            y[i + half] = x[i] * sin(angle) + x[i + half] * cos(angle)
        }
        return y
    }

    /// Logits after every position of `tokens`.
    func referenceLogits(_ tokens: [Int32]) -> [[Double]] {
        let d = Self.d, hd = Self.headDim
        let embd = tensors["token_embd.weight"]!.values
        var h: [[Double]] = tokens.map { t in (0..<d).map { Double(embd[Int(t) * d + $0]) * Double(d).squareRoot() } }
        for layer in 0..<Self.layers {
            let p = "blk.\(layer)."
            let sliding = layer % Self.pattern < Self.pattern - 1
            let base = sliding ? 10_000.0 : 1_000_000.0
            var ks: [[Double]] = [], vs: [[Double]] = [], qs: [[[Double]]] = []
            for (pos, x) in h.enumerated() {
                let xn = rmsnorm(x, p + "attn_norm.weight")
                let q = linear(p + "attn_q.weight", xn), k = linear(p + "attn_k.weight", xn)
                qs.append((0..<Self.heads).map { hh in
                    rope(rmsnorm(Array(q[(hh * hd)..<((hh + 1) * hd)]), p + "attn_q_norm.weight"), position: pos, base: base)
                        .map { $0 / Double(hd).squareRoot() }
                })
                ks.append(rope(rmsnorm(k, p + "attn_k_norm.weight"), position: pos, base: base))
                vs.append(linear(p + "attn_v.weight", xn))
            }
            for pos in 0..<h.count {
                var att: [Double] = []
                for hh in 0..<Self.heads {
                    let visible = (0...pos).filter { !sliding || pos - $0 < Self.window }
                    let s = visible.map { j in zip(qs[pos][hh], ks[j]).reduce(0) { $0 + $1.0 * $1.1 } }
                    let m = s.max()!
                    let e = s.map { Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    var o = [Double](repeating: 0, count: hd)
                    for (n, j) in visible.enumerated() { for c in 0..<hd { o[c] += e[n] / z * vs[j][c] } }
                    att += o
                }
                let a = rmsnorm(linear(p + "attn_output.weight", att), p + "post_attention_norm.weight")
                var x = zip(h[pos], a).map { $0 + $1 }
                let xn = rmsnorm(x, p + "ffn_norm.weight")
                let g = linear(p + "ffn_gate.weight", xn), u = linear(p + "ffn_up.weight", xn)
                let act = zip(g, u).map { gv, uv in
                    0.5 * gv * (1 + tanh(0.7978845608028654 * (gv + 0.044715 * gv * gv * gv))) * uv
                }
                let f = rmsnorm(linear(p + "ffn_down.weight", act), p + "post_ffw_norm.weight")
                x = zip(x, f).map { $0 + $1 }
                h[pos] = x
            }
        }
        return h.map { x in
            let xn = rmsnorm(x, "output_norm.weight")
            return (0..<Self.vocab).map { v in (0..<d).reduce(0.0) { $0 + Double(embd[v * d + $1]) * xn[$1] } }
        }
    }
}

private func maxDifference<C: Collection>(_ a: C, _ b: [Double]) -> Double where C.Element == Float {
    zip(a, b).map { abs(Double($0) - $1) }.max() ?? .infinity
}

@Suite struct Gemma3SyntheticTests {
    // Tolerance: fp32 engine against a Double reference on logits of magnitude ~1–10.
    let tolerance = 1e-3
    let tokens: [Int32] = [2, 17, 5, 33, 8, 8, 21, 39, 0, 12, 30, 4, 19]

    @Test func hyperparametersFollowMetadataAndPattern() throws {
        let tiny = TinyGemma()
        let model = try Gemma3Model(path: tiny.write(tiny.writer()).path)
        let hp = model.hyperparameters
        #expect(hp.vocabularySize == TinyGemma.vocab && hp.layerCount == 3 && hp.kvHeadCount == 1)
        #expect((0..<3).map { hp.usesSlidingWindow(layer: $0) } == [true, true, false])
        #expect(hp.ropeBase(layer: 0) == 10_000 && hp.ropeBase(layer: 2) == 1_000_000)
        #expect(abs(hp.attentionScale - 1 / Float(8).squareRoot()) < 1e-7)
    }

    @Test func batchedPromptMatchesReferenceEveryPosition() throws {
        let tiny = TinyGemma()
        let model = try Gemma3Model(path: tiny.write(tiny.writer()).path)
        let reference = tiny.referenceLogits(tokens)
        let session = model.makeSession(rounding: .fp32)
        var seen: [Int] = []
        try session.evaluateAll(tokens) { row, logits in
            seen.append(row)
            #expect(maxDifference(logits, reference[row]) < tolerance, "row \(row)")
        }
        #expect(seen == Array(0..<tokens.count))
        #expect(session.count == tokens.count)
    }

    @Test func decodeOneByOneAndSplitBatchesMatchReference() throws {
        let tiny = TinyGemma()
        let model = try Gemma3Model(path: tiny.write(tiny.writer()).path)
        let reference = tiny.referenceLogits(tokens)
        let stepwise = model.makeSession(rounding: .fp32)
        for (i, t) in tokens.enumerated() {
            let logits = try stepwise.evaluate([t])
            #expect(maxDifference(logits, reference[i]) < tolerance, "step \(i)")
        }
        let split = model.makeSession(maximumBatchSize: 3, rounding: .fp32)
        let last = try split.evaluate(tokens)
        #expect(maxDifference(last, reference[tokens.count - 1]) < tolerance)
        var rows = 0
        try model.makeSession(maximumBatchSize: 5, rounding: .fp32).evaluateAll(tokens, from: 6) { row, logits in
            rows += 1
            #expect(maxDifference(logits, reference[row]) < tolerance, "row \(row)")
        }
        #expect(rows == tokens.count - 6)
    }

    @Test func logitsStayValidAfterLaterSteps() throws {
        let tiny = TinyGemma()
        let model = try Gemma3Model(path: tiny.write(tiny.writer()).path)
        let reference = tiny.referenceLogits(tokens)
        let session = model.makeSession(rounding: .fp32)
        var held: [Logits] = []
        for t in tokens { held.append(try session.evaluate(token: t)) }
        // Every step's logits, read only after all later steps ran, are still that step's.
        for (i, logits) in held.enumerated() {
            #expect(logits.count == TinyGemma.vocab)
            #expect(maxDifference(logits, reference[i]) < tolerance, "step \(i)")
        }
    }

    /// With one token per batch a sliding-window layer keeps a ring of window + 1 = 5 positions,
    /// which wraps twice over 13 tokens; logits still match, and truncation is exact while the
    /// ring holds the window before the new end and empties the cache beyond that.
    @Test func slidingWindowRingKeepsOnlyTheWindow() throws {
        let tiny = TinyGemma()
        let model = try Gemma3Model(path: tiny.write(tiny.writer()).path)
        let hp = model.hyperparameters
        let reference = tiny.referenceLogits(tokens)
        let session = model.makeSession(contextLength: TinyGemma.context, maximumBatchSize: 1, rounding: .fp32)
        for (i, t) in tokens.enumerated() {
            let logits = try session.evaluate(token: t)
            #expect(maxDifference(logits, reference[i]) < tolerance, "step \(i)")
        }
        let ring = TinyGemma.window + 1
        #expect(session.cacheBytes == (TinyGemma.context + 2 * ring) * (hp.keyWidth + hp.valueWidth) * 4)
        // Positions 8..<13 are in the rings: going back to 12 needs 9..<12.
        #expect(session.truncate(to: 12) == 12)
        #expect(maxDifference(try session.evaluate(token: tokens[12]), reference[12]) < tolerance)
        // Going back to 3 would need positions 0..<3, long overwritten: the cache empties.
        #expect(session.truncate(to: 3) == 0)
        #expect(session.count == 0)
        let again = try session.evaluate(Array(tokens.prefix(4)))
        #expect(maxDifference(again, reference[3]) < tolerance)
    }

    /// llama.cpp rounding (fp16 KV cache and queries, fp16 GELU table) moves the logits a little
    /// and only a little away from the fp64 reference.
    @Test func llamaCppRoundingStaysCloseToTheReference() throws {
        let tiny = TinyGemma()
        let model = try Gemma3Model(path: tiny.write(tiny.writer()).path)
        let reference = tiny.referenceLogits(tokens)
        let rounded = Array(try model.makeSession(rounding: .llamaCpp).evaluate(tokens))
        let exact = Array(try model.makeSession(rounding: .fp32).evaluate(tokens))
        #expect(rounded != exact)
        #expect(maxDifference(rounded, reference[tokens.count - 1]) < 0.05)
    }

    @Test func truncateReusesThePrefix() throws {
        let tiny = TinyGemma()
        let model = try Gemma3Model(path: tiny.write(tiny.writer()).path)
        let other: [Int32] = [3, 3, 9, 1]
        let reference = tiny.referenceLogits(Array(tokens.prefix(7)) + other)
        let session = model.makeSession(rounding: .fp32)
        _ = try session.evaluate(tokens)
        #expect(session.truncate(to: 7) == 7)
        let logits = try session.evaluate(other)
        #expect(maxDifference(logits, reference[reference.count - 1]) < tolerance)
        #expect(session.count == 11)
    }

    @Test func badInputsAreTypedErrors() throws {
        let tiny = TinyGemma()
        let model = try Gemma3Model(path: tiny.write(tiny.writer()).path)
        let session = model.makeSession(contextLength: 8, rounding: .fp32)
        #expect(throws: ModelError.tokenOutOfRange(token: 40, vocabularySize: 40)) { try session.evaluate([1, 40]) }
        #expect(throws: ModelError.contextFull(needed: 9, limit: 8)) { try session.evaluate(Array(repeating: 1, count: 9)) }
        #expect(throws: ModelError.emptyInput) { try session.evaluate([]) }
        #expect(session.count == 0)

        #expect(throws: ModelError.self) { try Gemma3Model(path: tiny.write(tiny.writer(architecture: "llama")).path) }
        let missing = try tiny.write(tiny.writer(skipping: "blk.1.ffn_up.weight"))
        #expect(throws: GGUFError.missingTensor(path: missing.path, name: "blk.1.ffn_up.weight")) {
            try Gemma3Model(path: missing.path)
        }
        var wrongShape = tiny
        wrongShape.tensors["blk.0.attn_k.weight"] = ([16, 16], [Float](repeating: 0, count: 256))
        #expect(throws: ModelError.self) { try Gemma3Model(path: tiny.write(wrongShape.writer()).path) }
    }
}
