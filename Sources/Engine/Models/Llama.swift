import Foundation

/// The Llama family from safetensors (Llama 2/3, SmolLM, Qwen2, Mistral without a sliding window):
/// pre-RMSNorm blocks, rotary positions (HF "rotate half" layout, optional `rope_scaling`),
/// grouped-query attention, and a SwiGLU feed-forward network. Weights become Float32 at load.
// @unchecked Sendable: immutable after load: the fp32 weights are only read, so one model may serve several caches.
public final class LlamaModel: HFDecoderModel, @unchecked Sendable {
    struct Layer {
        let inputNorm: Tensor
        let q: Tensor, k: Tensor, v: Tensor, o: Tensor
        let qBias: Tensor?, kBias: Tensor?, vBias: Tensor?, oBias: Tensor?
        let postNorm: Tensor
        let gate: Tensor, up: Tensor, down: Tensor
        let gateBias: Tensor?, upBias: Tensor?, downBias: Tensor?
    }

    public let config: HFModelConfig
    let embeddings: Tensor
    let layers: [Layer]
    let finalNorm: Tensor
    let lmHead: Tensor
    /// Inverse frequencies of the rotated pairs, after `rope_scaling`.
    let inverseFrequencies: [Double]

    public init(config: HFModelConfig, weights: SafetensorsWeights) throws {
        self.config = config
        guard ["silu", "swish"].contains(config.hiddenAct) else {
            throw ModelConfigError.unsupportedValue(path: config.path, key: "hidden_act", value: config.hiddenAct, supported: "silu")
        }
        let h = config.hiddenSize, d = config.headDim, inner = config.intermediateSize
        let qWidth = config.numAttentionHeads * d, kvWidth = config.numKeyValueHeads * d
        func load(_ name: String, _ shape: [Int]) throws -> Tensor { try weights.floatTensor(name, shape: shape) }
        func optional(_ name: String, _ shape: [Int], _ present: Bool) throws -> Tensor? {
            present ? try load(name, shape) : nil
        }
        embeddings = try load("model.embed_tokens.weight", [config.vocabSize, h])
        layers = try (0..<config.numHiddenLayers).map { i in
            let p = "model.layers.\(i)."
            let ab = config.attentionBias, mb = config.mlpBias
            return Layer(inputNorm: try load(p + "input_layernorm.weight", [h]),
                         q: try load(p + "self_attn.q_proj.weight", [qWidth, h]),
                         k: try load(p + "self_attn.k_proj.weight", [kvWidth, h]),
                         v: try load(p + "self_attn.v_proj.weight", [kvWidth, h]),
                         o: try load(p + "self_attn.o_proj.weight", [h, qWidth]),
                         qBias: try optional(p + "self_attn.q_proj.bias", [qWidth], ab),
                         kBias: try optional(p + "self_attn.k_proj.bias", [kvWidth], ab),
                         vBias: try optional(p + "self_attn.v_proj.bias", [kvWidth], ab),
                         // Qwen2 has q/k/v biases but none on o_proj; Llama's attention_bias covers all four.
                         oBias: try optional(p + "self_attn.o_proj.bias", [h], ab && weights.contains(p + "self_attn.o_proj.bias")),
                         postNorm: try load(p + "post_attention_layernorm.weight", [h]),
                         gate: try load(p + "mlp.gate_proj.weight", [inner, h]),
                         up: try load(p + "mlp.up_proj.weight", [inner, h]),
                         down: try load(p + "mlp.down_proj.weight", [h, inner]),
                         gateBias: try optional(p + "mlp.gate_proj.bias", [inner], mb),
                         upBias: try optional(p + "mlp.up_proj.bias", [inner], mb),
                         downBias: try optional(p + "mlp.down_proj.bias", [h], mb))
        }
        finalNorm = try load("model.norm.weight", [h])
        if weights.contains("lm_head.weight") {
            lmHead = try load("lm_head.weight", [config.vocabSize, h])
        } else if config.tieWordEmbeddings {
            lmHead = embeddings
        } else {
            throw SafetensorsError.missingTensor(path: weights.folder.path, name: "lm_head.weight")
        }
        let half = d / 2
        let base = (0..<half).map { 1 / pow(config.ropeTheta, Double(2 * $0) / Double(d)) }
        inverseFrequencies = config.ropeScaling?.apply(to: base) ?? base
    }

    public func makeCache(capacity: Int) -> DecoderKVCache {
        DecoderKVCache(layers: config.numHiddenLayers, capacity: min(capacity, config.maxPositionEmbeddings),
                       width: config.numKeyValueHeads * config.headDim)
    }

    public func forward(_ ids: [Int], cache: DecoderKVCache) throws -> Tensor {
        try DecoderInput.check(ids, vocab: config.vocabSize, cache: cache)
        let start = cache.count, t = ids.count
        let heads = config.numAttentionHeads, kvHeads = config.numKeyValueHeads, d = config.headDim
        let eps = Float(config.normEps)
        var x = try Tensor.embedding(embeddings, ids: ids)
        for (index, layer) in layers.enumerated() {
            let hNorm = try x.rmsnorm(weight: layer.inputNorm, eps: eps)
            let q = try linear(hNorm, layer.q, layer.qBias)
            let k = try linear(hNorm, layer.k, layer.kBias)
            let v = try linear(hNorm, layer.v, layer.vBias)
            rotate(q, tokens: t, heads: heads, start: start)
            rotate(k, tokens: t, heads: kvHeads, start: start)
            cache.store(layer: index, k: k, v: v)
            let attended = CausalAttention.attend(q: q, cache: cache, layer: index, start: start, heads: heads,
                                                  kvHeads: kvHeads, headDim: d, scale: 1 / Float(d).squareRoot())
            x = try x + linear(attended, layer.o, layer.oBias)
            let mNorm = try x.rmsnorm(weight: layer.postNorm, eps: eps)
            let gated = try linear(mNorm, layer.gate, layer.gateBias).silu() * linear(mNorm, layer.up, layer.upBias)
            x = try x + linear(gated, layer.down, layer.downBias)
        }
        cache.advance(by: t)
        return try Tensor.matmul(x.rmsnorm(weight: finalNorm, eps: eps), lmHead, transposeB: true)
    }

    private func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor?) throws -> Tensor {
        let y = try Tensor.matmul(x, w, transposeB: true)
        guard let b else { return y }
        return try y + b
    }

    /// Rotary embedding in place on `[T, heads × headDim]`, pairs (i, i + headDim/2).
    private func rotate(_ x: Tensor, tokens: Int, heads: Int, start: Int) {
        let d = config.headDim, half = d / 2
        let p = x.basePointer
        inverseFrequencies.withUnsafeBufferPointer { freq in
            var cosines = [Float](repeating: 0, count: half), sines = [Float](repeating: 0, count: half)
            for t in 0..<tokens {
                let position = Double(start + t)
                for i in 0..<half {
                    let angle = position * freq[i]
                    cosines[i] = Float(cos(angle))
                    sines[i] = Float(sin(angle))
                }
                for head in 0..<heads {
                    let v = p + (t * heads + head) * d
                    for i in 0..<half {
                        let a = v[i], b = v[i + half]
                        v[i] = a * cosines[i] - b * sines[i]
                        v[i + half] = b * cosines[i] + a * sines[i]
                    }
                }
            }
        }
    }
}
