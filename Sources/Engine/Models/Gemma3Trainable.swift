import Foundation

/// A frozen weight kept in its GGML blocks, for training: the forward product runs the same
/// kernel as inference (`QuantizedMatrix.multiply`), the input gradient is computed from the blocks
/// (`multiplyTransposed`, a tile at a time), so QLoRA never holds a dequantized copy of the model.
// @unchecked Sendable: a frozen weight: the blocks are only read, by forward and backward alike.
public final class QuantizedFrozenLinear: FrozenLinear, @unchecked Sendable {
    public let matrix: QuantizedMatrix

    public init(_ matrix: QuantizedMatrix) { self.matrix = matrix }

    public var inputFeatures: Int { matrix.cols }
    public var outputFeatures: Int { matrix.rows }

    public func forward(_ x: Tensor) throws -> Tensor {
        let xc = x.isContiguous ? x : x.contiguous()
        let rows = xc.count / max(matrix.cols, 1)
        let out = Tensor(shape: [rows, matrix.rows])
        matrix.multiply(xc.basePointer, tokens: rows, into: out.basePointer)
        return out
    }

    public func backwardInput(_ dy: Tensor) throws -> Tensor {
        let dc = dy.isContiguous ? dy : dy.contiguous()
        let rows = dc.count / max(matrix.rows, 1)
        let dx = Tensor(shape: [rows, matrix.cols])
        matrix.multiplyTransposed(dc.basePointer, tokens: rows, into: dx.basePointer)
        return dx
    }
}

/// Gemma 3 as an autograd graph over the frozen GGUF weights, with optional LoRA adapters
/// (QLoRA when the file is quantized): the trainable counterpart of `Gemma3Session`.
///
/// Every Gemma 3 detail of the inference path is here: the embedding scaled by √d, RMSNorm before
/// and after both sublayers (GGUF norm weights already include Gemma's +1), QK-norm, NEOX RoPE with
/// the local base (10 000) on sliding-window layers and the global base on full layers, the
/// sliding-window mask, GeGLU (GELU-tanh gate), the final norm and logits tied to the token
/// embedding. Gemma 3 has no logit soft-capping (Gemma 2 had; llama.cpp applies none for gemma3),
/// so there is none here. Sequences start at position 0 (no cache: training sees whole sequences).
public final class Gemma3TrainableModel: TrainableLanguageModel {
    public let model: Gemma3Model
    public let lora: LoRAConfiguration?
    /// `adapters[layer][target]`, empty without LoRA.
    public let adapters: [[LoRATarget: LoRALinear]]
    public let trainableParameters: [Parameter]
    private let frozen: [[LoRATarget: QuantizedFrozenLinear]]

    public var hyperparameters: Gemma3Hyperparameters { model.hyperparameters }

    /// `seed` draws the LoRA A matrices (B starts at zero, so the model starts equal to the base).
    public init(model: Gemma3Model, lora: LoRAConfiguration?, seed: UInt64 = 0) throws {
        try lora?.validate()
        self.model = model
        self.lora = lora
        var generator = SeededGenerator(seed: seed)
        var frozen: [[LoRATarget: QuantizedFrozenLinear]] = []
        var adapters: [[LoRATarget: LoRALinear]] = []
        for (layer, block) in model.blocks.enumerated() {
            let matrices: [LoRATarget: QuantizedMatrix] = [.q: block.query, .k: block.key, .v: block.value, .o: block.output,
                                                          .gate: block.gate, .up: block.up, .down: block.down]
            var layerFrozen: [LoRATarget: QuantizedFrozenLinear] = [:]
            for (t, m) in matrices { layerFrozen[t] = QuantizedFrozenLinear(m) }
            frozen.append(layerFrozen)
            var layerAdapters: [LoRATarget: LoRALinear] = [:]
            if let lora {
                for t in lora.targets {
                    guard let base = layerFrozen[t] else { continue }
                    layerAdapters[t] = try LoRALinear(module: t.modulePath(layer: layer), base: base, rank: lora.rank,
                                                      alpha: lora.alpha, dropout: lora.dropout, generator: &generator)
                }
            }
            adapters.append(layerAdapters)
        }
        self.frozen = frozen
        self.adapters = adapters
        trainableParameters = adapters.flatMap { layer in layer.keys.sorted().flatMap { layer[$0]?.parameters ?? [] } }
    }

    /// The adapter parameters by PEFT-style name (`model.layers.0.self_attn.q_proj.lora_A.weight`).
    public var parametersByName: [String: Parameter] {
        Dictionary(uniqueKeysWithValues: trainableParameters.map { ($0.name, $0) })
    }

    /// The last hidden state after the final norm, `[tokens.count, d]`.
    public func finalHidden(_ g: Graph, tokens: [Int], sequenceLength t: Int, adapters useAdapters: Bool = true,
                            dropoutSeed: UInt64? = nil) throws -> Value {
        let hp = model.hyperparameters
        guard t > 0, !tokens.isEmpty, tokens.count % t == 0 else {
            throw AutogradError.invalidArgument(operation: "Gemma 3 forward", reason:
                "\(tokens.count) tokens do not split into sequences of \(t)")
        }
        guard t <= hp.contextLength else { throw ModelError.contextFull(needed: t, limit: hp.contextLength) }
        for id in tokens where id < 0 || id >= hp.vocabularySize {
            throw ModelError.tokenOutOfRange(token: Int32(clamping: id), vocabularySize: hp.vocabularySize)
        }
        let d = hp.embeddingLength, n = tokens.count
        let embedded = Tensor(shape: [n, d])
        let table = model.tokenEmbedding, scale = model.embeddingScale
        let eb = UncheckedSendableBox(embedded.basePointer)
        Parallel.forRanges(n, minimumPerLane: 16) { range in
            for i in range {
                table.dequantizeRow(tokens[i], into: eb.value + i * d)
                Kernels.scale(eb.value + i * d, by: scale, output: eb.value + i * d, d)
            }
        }
        var h = g.input(embedded)
        let positions = (0..<n).map { $0 % t }
        let eps = hp.rmsEpsilon, dk = hp.keyLength
        for (layer, block) in model.blocks.enumerated() {
            func project(_ x: Value, _ target: LoRATarget) throws -> Value {
                if useAdapters, let adapter = adapters[layer][target] {
                    var generator = SeededGenerator(seed: (dropoutSeed ?? 0) &+ UInt64(layer * 16 + target.order) &* 0x9E37_79B9)
                    return try adapter.forward(g, x, training: dropoutSeed != nil, generator: &generator)
                }
                guard let base = frozen[layer][target] else {
                    preconditionFailure("every Gemma 3 block has all seven projections")
                }
                return try g.frozenLinear(x, base)
            }
            let normed = try g.rmsnorm(h, weight: g.input(block.attentionNorm), eps: eps)
            var q = try project(normed, .q)
            var k = try project(normed, .k)
            let v = try project(normed, .v)
            // QK-norm over each head, then RoPE with this layer's base.
            q = try g.reshape(try g.rmsnorm(try g.reshape(q, [n * hp.headCount, dk]), weight: g.input(block.queryNorm), eps: eps),
                              [n, hp.queryWidth])
            k = try g.reshape(try g.rmsnorm(try g.reshape(k, [n * hp.kvHeadCount, dk]), weight: g.input(block.keyNorm), eps: eps),
                              [n, hp.keyWidth])
            q = try g.rope(q, heads: hp.headCount, headDim: dk, positions: positions, base: block.ropeBase, style: .neox)
            k = try g.rope(k, heads: hp.kvHeadCount, headDim: dk, positions: positions, base: block.ropeBase, style: .neox)
            let mask: AttentionMask = block.slidingWindow ? .slidingWindow(hp.slidingWindow) : .causal
            let attended = try g.attention(q: q, k: k, v: v, heads: hp.headCount, kvHeads: hp.kvHeadCount, headDim: dk,
                                           sequenceLength: t, scale: hp.attentionScale, mask: mask)
            let projected = try project(attended, .o)
            h = try g.add(h, try g.rmsnorm(projected, weight: g.input(block.postAttentionNorm), eps: eps))
            let normed2 = try g.rmsnorm(h, weight: g.input(block.feedForwardNorm), eps: eps)
            let gated = try g.gated(try project(normed2, .gate), try project(normed2, .up), activation: .geluTanh)
            let down = try project(gated, .down)
            h = try g.add(h, try g.rmsnorm(down, weight: g.input(block.postFeedForwardNorm), eps: eps))
        }
        return try g.rmsnorm(h, weight: g.input(model.outputNorm), eps: eps)
    }

    public func tokenLogProbs(_ g: Graph, batch: TokenBatch, adapters useAdapters: Bool = true,
                              dropoutSeed: UInt64? = nil) throws -> Value {
        let hidden = try finalHidden(g, tokens: batch.tokens, sequenceLength: batch.sequenceLength,
                                     adapters: useAdapters, dropoutSeed: dropoutSeed)
        return try g.outputLogProbs(hidden: hidden, head: model.tokenEmbedding, targets: batch.targets)
    }

    /// All logits `[tokens.count, vocabulary]` of sequences of `sequenceLength` (tests, evaluation;
    /// 1 MB a row for Gemma's 262k vocabulary).
    public func logits(tokens: [Int], sequenceLength: Int? = nil, adapters useAdapters: Bool = true) throws -> Tensor {
        let g = Graph(recording: false)
        let hidden = g.value(try finalHidden(g, tokens: tokens, sequenceLength: sequenceLength ?? tokens.count,
                                             adapters: useAdapters))
        let out = Tensor(shape: [tokens.count, model.hyperparameters.vocabularySize])
        model.tokenEmbedding.multiply(hidden.basePointer, tokens: tokens.count, into: out.basePointer)
        return out
    }
}

public extension Gemma3Model {
    /// Opens a `gemma3` GGUF for `purpose` ("text generation", "merged export") with `adapter` (a PEFT
    /// LoRA folder) merged in when given. Another architecture is refused with a message naming the purpose.
    static func open(_ url: URL, adapter: URL?, purpose: String) throws -> Gemma3Model {
        let file = try GGUFFile(path: url.path)
        let architecture = file.metadata.architecture ?? "unknown"
        guard architecture == "gemma3" else {
            throw GenerationError.modelFailed("\(url.lastPathComponent) is a '\(architecture)' model; \(purpose) supports gemma3 GGUF files so far")
        }
        let model = try Gemma3Model(file: file)
        guard let adapter else { return model }
        return try model.applying(PEFTAdapter.load(from: adapter))
    }

    /// This model with a LoRA adapter merged: each adapted projection becomes an F32 matrix
    /// W + (α/r)·B·A (W dequantized from its blocks once, at load); the other weights stay
    /// quantized and shared. Generation then runs the unchanged `Gemma3Session` code. For Gemma 3
    /// 270M with q,k,v,o adapted that is ~120 MB of F32 weights more.
    func applying(_ adapter: PEFTAdapter) throws -> Gemma3Model {
        var known = Set<String>()
        var merged: [Gemma3Block] = []
        for (layer, block) in blocks.enumerated() {
            func matrix(_ target: LoRATarget, _ base: QuantizedMatrix) throws -> QuantizedMatrix {
                let module = target.modulePath(layer: layer)
                guard adapter.modules[module] != nil else { return base }
                known.insert(module)
                let weight = base.dequantized()
                try adapter.addDelta(module: module, into: weight)
                return try QuantizedMatrix(float32: weight)
            }
            merged.append(Gemma3Block(
                attentionNorm: block.attentionNorm, query: try matrix(.q, block.query), key: try matrix(.k, block.key),
                value: try matrix(.v, block.value), queryNorm: block.queryNorm, keyNorm: block.keyNorm,
                output: try matrix(.o, block.output), postAttentionNorm: block.postAttentionNorm,
                feedForwardNorm: block.feedForwardNorm, gate: try matrix(.gate, block.gate), up: try matrix(.up, block.up),
                down: try matrix(.down, block.down), postFeedForwardNorm: block.postFeedForwardNorm,
                slidingWindow: block.slidingWindow, ropeBase: block.ropeBase))
        }
        if let unknown = adapter.modules.keys.filter({ !known.contains($0) }).sorted().first {
            throw PEFTAdapterError.mismatch(path: unknown, reason: "this \(blocks.count)-layer Gemma 3 has no module \(unknown)")
        }
        return Gemma3Model(base: self, blocks: merged)
    }
}

public extension Gemma3TrainableModel {
    /// The trained adapters in PEFT layout.
    func peftAdapter(baseModel: String?) -> PEFTAdapter? {
        guard let lora else { return nil }
        return PEFTAdapter(configuration: lora, baseModel: baseModel, layers: adapters.flatMap { $0.values })
    }

    /// Loads A and B from a PEFT adapter into this model's LoRA layers (same rank and targets).
    func load(_ adapter: PEFTAdapter) throws {
        for layer in adapters.flatMap({ $0.values }) {
            let module = String(layer.a.name.dropLast(".lora_A.weight".count))
            guard let pair = adapter.modules[module], pair.a.shape == layer.a.shape, pair.b.shape == layer.b.shape else {
                throw PEFTAdapterError.mismatch(path: module, reason: "the adapter lacks \(module) or its shapes differ")
            }
            layer.a.value = pair.a.contiguous()
            layer.b.value = pair.b.contiguous()
        }
    }
}
