import Engine
import Foundation

/// Shape of a small decoder-only Transformer trained in fp32 through the autograd graph
/// (Llama / Gemma style: pre-norm RMSNorm, rotary attention with grouped KV heads, gated MLP).
public struct DecoderConfig: Sendable, Equatable, Codable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var ropeBase: Float
    public var ropeStyle: RopeStyle
    public var normEps: Float
    public var activation: GateActivation
    public var tiedEmbeddings: Bool
    /// Gemma multiplies token embeddings by √hiddenSize.
    public var scalesEmbeddings: Bool
    /// Local (sliding-window) attention on every layer when set.
    public var slidingWindow: Int?

    public init(vocabularySize: Int, hiddenSize: Int, layers: Int, heads: Int, kvHeads: Int, headDim: Int,
                intermediateSize: Int, ropeBase: Float = 10_000, ropeStyle: RopeStyle = .neox, normEps: Float = 1e-6,
                activation: GateActivation = .geluTanh, tiedEmbeddings: Bool = true, scalesEmbeddings: Bool = false,
                slidingWindow: Int? = nil) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.intermediateSize = intermediateSize
        self.ropeBase = ropeBase
        self.ropeStyle = ropeStyle
        self.normEps = normEps
        self.activation = activation
        self.tiedEmbeddings = tiedEmbeddings
        self.scalesEmbeddings = scalesEmbeddings
        self.slidingWindow = slidingWindow
    }

    public func validate() throws {
        let sizes = [vocabularySize, hiddenSize, layers, heads, kvHeads, headDim, intermediateSize]
        guard sizes.allSatisfy({ $0 > 0 }) else {
            throw RunError.invalidConfiguration("model sizes must be positive: \(sizes)")
        }
        guard heads % kvHeads == 0 else {
            throw RunError.invalidConfiguration("heads (\(heads)) must be a multiple of KV heads (\(kvHeads))")
        }
        guard headDim % 2 == 0 else {
            throw RunError.invalidConfiguration("head dimension (\(headDim)) must be even for rotary embeddings")
        }
        if let w = slidingWindow, w < 1 { throw RunError.invalidConfiguration("sliding window must be at least 1") }
    }
}

/// A decoder-only language model whose weights are `Parameter`s (Hugging Face tensor names,
/// weights stored `[out, in]`), with a differentiable forward pass.
public final class DecoderModel {
    public let config: DecoderConfig
    public let parameters: [Parameter]
    private let byName: [String: Parameter]

    /// Random initialisation: N(0, 0.02²) matrices, unit norm weights, from `seed`.
    public init(config: DecoderConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var generator = SeededGenerator(seed: seed)
        var made: [Parameter] = []
        func matrix(_ name: String, _ rows: Int, _ cols: Int) {
            let t = Tensor(shape: [rows, cols])
            let p = t.basePointer
            for i in 0..<t.count { p[i] = generator.nextNormal() * 0.02 }
            made.append(Parameter(name: name, value: t))
        }
        func ones(_ name: String, _ n: Int) { made.append(Parameter(name: name, value: Tensor.filled([n], with: 1))) }
        let c = config
        matrix("model.embed_tokens.weight", c.vocabularySize, c.hiddenSize)
        for l in 0..<c.layers {
            let prefix = "model.layers.\(l)."
            ones(prefix + "input_layernorm.weight", c.hiddenSize)
            matrix(prefix + "self_attn.q_proj.weight", c.heads * c.headDim, c.hiddenSize)
            matrix(prefix + "self_attn.k_proj.weight", c.kvHeads * c.headDim, c.hiddenSize)
            matrix(prefix + "self_attn.v_proj.weight", c.kvHeads * c.headDim, c.hiddenSize)
            matrix(prefix + "self_attn.o_proj.weight", c.hiddenSize, c.heads * c.headDim)
            ones(prefix + "post_attention_layernorm.weight", c.hiddenSize)
            matrix(prefix + "mlp.gate_proj.weight", c.intermediateSize, c.hiddenSize)
            matrix(prefix + "mlp.up_proj.weight", c.intermediateSize, c.hiddenSize)
            matrix(prefix + "mlp.down_proj.weight", c.hiddenSize, c.intermediateSize)
        }
        ones("model.norm.weight", c.hiddenSize)
        if !c.tiedEmbeddings { matrix("lm_head.weight", c.vocabularySize, c.hiddenSize) }
        parameters = made
        byName = Dictionary(uniqueKeysWithValues: made.map { ($0.name, $0) })
    }

    /// A model over given weights (a saved model, a checkpoint). Every parameter the config implies
    /// must be present with its shape.
    public init(config: DecoderConfig, weights: [String: Tensor]) throws {
        try config.validate()
        self.config = config
        let reference = try DecoderModel(config: config, seed: 0)
        var made: [Parameter] = []
        for p in reference.parameters {
            guard let t = weights[p.name] else {
                throw RunError.invalidConfiguration("the weights have no tensor \(p.name)")
            }
            guard t.shape == p.shape else {
                throw RunError.invalidConfiguration("\(p.name) has shape \(t.shape), the config implies \(p.shape)")
            }
            made.append(Parameter(name: p.name, value: t.contiguous()))
        }
        parameters = made
        byName = Dictionary(uniqueKeysWithValues: made.map { ($0.name, $0) })
    }

    public func parameter(_ name: String) -> Parameter? { byName[name] }

    private func weight(_ name: String) throws -> Parameter {
        guard let p = byName[name] else { throw RunError.invalidConfiguration("model has no parameter \(name)") }
        return p
    }

    /// Logits `[batch · sequenceLength, vocabulary]` for `tokens` (batch sequences of equal length, concatenated).
    public func logits(_ g: Graph, tokens: [Int], sequenceLength t: Int) throws -> Value {
        let final = try hiddenStates(g, tokens: tokens, sequenceLength: t)
        let head = g.parameter(try weight(config.tiedEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"))
        return try g.matmul(final, head, transposeW: true)
    }

    /// The final-norm hidden states `[batch · sequenceLength, hidden]` that the LM head (or a reward
    /// model's scalar head) reads.
    public func hiddenStates(_ g: Graph, tokens: [Int], sequenceLength t: Int) throws -> Value {
        guard t > 0, !tokens.isEmpty, tokens.count % t == 0 else {
            throw RunError.invalidConfiguration("\(tokens.count) tokens do not split into sequences of \(t)")
        }
        let c = config
        let positions = (0..<tokens.count).map { $0 % t }
        let mask: AttentionMask = c.slidingWindow.map { .slidingWindow($0) } ?? .causal
        let embed = g.parameter(try weight("model.embed_tokens.weight"))
        var h = try g.embedding(embed, ids: tokens)
        if c.scalesEmbeddings { h = g.scale(h, by: Float(c.hiddenSize).squareRoot()) }
        for l in 0..<c.layers {
            let prefix = "model.layers.\(l)."
            func project(_ x: Value, _ name: String) throws -> Value {
                try g.matmul(x, g.parameter(try weight(prefix + name)), transposeW: true)
            }
            let normed = try g.rmsnorm(h, weight: g.parameter(try weight(prefix + "input_layernorm.weight")), eps: c.normEps)
            let q = try g.rope(try project(normed, "self_attn.q_proj.weight"), heads: c.heads, headDim: c.headDim,
                               positions: positions, base: c.ropeBase, style: c.ropeStyle)
            let k = try g.rope(try project(normed, "self_attn.k_proj.weight"), heads: c.kvHeads, headDim: c.headDim,
                               positions: positions, base: c.ropeBase, style: c.ropeStyle)
            let v = try project(normed, "self_attn.v_proj.weight")
            let attended = try g.attention(q: q, k: k, v: v, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
                                           sequenceLength: t, scale: 1 / Float(c.headDim).squareRoot(), mask: mask)
            h = try g.add(h, try project(attended, "self_attn.o_proj.weight"))
            let normed2 = try g.rmsnorm(h, weight: g.parameter(try weight(prefix + "post_attention_layernorm.weight")),
                                        eps: c.normEps)
            let gated = try g.gated(try project(normed2, "mlp.gate_proj.weight"), try project(normed2, "mlp.up_proj.weight"),
                                    activation: c.activation)
            h = try g.add(h, try project(gated, "mlp.down_proj.weight"))
        }
        return try g.rmsnorm(h, weight: g.parameter(try weight("model.norm.weight")), eps: c.normEps)
    }

    /// Mean next-token cross-entropy: `targets[i]` is the token expected after `tokens[i]`
    /// (`Graph.ignoreIndex` to leave a position out of the loss).
    public func loss(_ g: Graph, tokens: [Int], targets: [Int], sequenceLength: Int) throws -> Value {
        try g.crossEntropy(logits: try logits(g, tokens: tokens, sequenceLength: sequenceLength), targets: targets)
    }
}
