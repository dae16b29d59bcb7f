import Foundation

/// GPT-2 from safetensors: learned position embeddings, pre-LayerNorm blocks, fused q/k/v
/// projection, GELU (tanh form, "gelu_new") feed-forward, output tied to the token embeddings.
/// GPT-2 stores its projections as `Conv1D` weights, `[in, out]`, the transpose of `nn.Linear`.
// @unchecked Sendable: immutable after load: the fp32 weights are only read, so one model may serve several caches.
public final class GPT2Model: HFDecoderModel, @unchecked Sendable {
    struct Layer {
        let norm1: Tensor, norm1Bias: Tensor
        let qkv: Tensor, qkvBias: Tensor
        let projection: Tensor, projectionBias: Tensor
        let norm2: Tensor, norm2Bias: Tensor
        let up: Tensor, upBias: Tensor
        let down: Tensor, downBias: Tensor
    }

    public let config: HFModelConfig
    let tokenEmbeddings: Tensor
    let positionEmbeddings: Tensor
    let layers: [Layer]
    let finalNorm: Tensor, finalNormBias: Tensor
    let lmHead: Tensor

    public init(config: HFModelConfig, weights: SafetensorsWeights) throws {
        self.config = config
        let h = config.hiddenSize, inner = config.intermediateSize
        // GPT2LMHeadModel checkpoints put the body under "transformer.".
        let prefix = weights.contains("transformer.wte.weight") ? "transformer." : ""
        func load(_ name: String, _ shape: [Int]) throws -> Tensor { try weights.floatTensor(prefix + name, shape: shape) }
        tokenEmbeddings = try load("wte.weight", [config.vocabSize, h])
        positionEmbeddings = try load("wpe.weight", [config.maxPositionEmbeddings, h])
        layers = try (0..<config.numHiddenLayers).map { i in
            let p = "h.\(i)."
            return Layer(norm1: try load(p + "ln_1.weight", [h]), norm1Bias: try load(p + "ln_1.bias", [h]),
                         qkv: try load(p + "attn.c_attn.weight", [h, 3 * h]), qkvBias: try load(p + "attn.c_attn.bias", [3 * h]),
                         projection: try load(p + "attn.c_proj.weight", [h, h]), projectionBias: try load(p + "attn.c_proj.bias", [h]),
                         norm2: try load(p + "ln_2.weight", [h]), norm2Bias: try load(p + "ln_2.bias", [h]),
                         up: try load(p + "mlp.c_fc.weight", [h, inner]), upBias: try load(p + "mlp.c_fc.bias", [inner]),
                         down: try load(p + "mlp.c_proj.weight", [inner, h]), downBias: try load(p + "mlp.c_proj.bias", [h]))
        }
        finalNorm = try load("ln_f.weight", [h])
        finalNormBias = try load("ln_f.bias", [h])
        if weights.contains("lm_head.weight"), !config.tieWordEmbeddings {
            lmHead = try weights.floatTensor("lm_head.weight", shape: [config.vocabSize, h])
        } else {
            lmHead = tokenEmbeddings
        }
    }

    public func makeCache(capacity: Int) -> DecoderKVCache {
        DecoderKVCache(layers: config.numHiddenLayers, capacity: min(capacity, config.maxPositionEmbeddings),
                       width: config.hiddenSize)
    }

    public func forward(_ ids: [Int], cache: DecoderKVCache) throws -> Tensor {
        try DecoderInput.check(ids, vocab: config.vocabSize, cache: cache)
        let start = cache.count, t = ids.count, h = config.hiddenSize
        let eps = Float(config.normEps)
        var x = try Tensor.embedding(tokenEmbeddings, ids: ids) + positionEmbeddings.slice(dim: 0, start..<(start + t))
        for (index, layer) in layers.enumerated() {
            let n1 = try x.layernorm(weight: layer.norm1, bias: layer.norm1Bias, eps: eps)
            let qkv = try Tensor.matmul(n1, layer.qkv) + layer.qkvBias
            let q = try qkv.slice(dim: 1, 0..<h).contiguous()
            let k = try qkv.slice(dim: 1, h..<(2 * h)).contiguous()
            let v = try qkv.slice(dim: 1, (2 * h)..<(3 * h)).contiguous()
            cache.store(layer: index, k: k, v: v)
            let d = config.headDim
            let attended = CausalAttention.attend(q: q, cache: cache, layer: index, start: start, heads: config.numAttentionHeads,
                                                  kvHeads: config.numAttentionHeads, headDim: d, scale: 1 / Float(d).squareRoot())
            x = try x + (Tensor.matmul(attended, layer.projection) + layer.projectionBias)
            let n2 = try x.layernorm(weight: layer.norm2, bias: layer.norm2Bias, eps: eps)
            let up = try Tensor.matmul(n2, layer.up) + layer.upBias
            let activated = config.hiddenAct == "relu"
                ? up.mapRows { s, o, n in for i in 0..<n { o[i] = max(s[i], 0) } }
                : (config.hiddenAct == "gelu" ? up.mapRows { s, o, n in Kernels.geluErf(s, output: o, n) } : up.geluTanh())
            x = try x + (Tensor.matmul(activated, layer.down) + layer.downBias)
        }
        cache.advance(by: t)
        let final = try x.layernorm(weight: finalNorm, bias: finalNormBias, eps: eps)
        return try Tensor.matmul(final, lmHead, transposeB: true)
    }
}
