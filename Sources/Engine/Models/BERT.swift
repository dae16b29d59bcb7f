import CBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A BERT encoder (post-LayerNorm Transformer) loaded from a Hugging Face folder's
/// `model.safetensors` and `config.json`: word + position + token-type embeddings, then
/// `numHiddenLayers` blocks of self-attention and a GELU feed-forward network, each followed by a
/// residual LayerNorm. Weights are converted to Float32 once at load.
// @unchecked Sendable: immutable after init: the fp32 weight tensors are only read, so forward passes may run on several threads.
public final class BERTModel: @unchecked Sendable {
    struct Layer {
        let query: Tensor, queryBias: Tensor
        let key: Tensor, keyBias: Tensor
        let value: Tensor, valueBias: Tensor
        let attentionOutput: Tensor, attentionOutputBias: Tensor
        let attentionNorm: Tensor, attentionNormBias: Tensor
        let intermediate: Tensor, intermediateBias: Tensor
        let output: Tensor, outputBias: Tensor
        let outputNorm: Tensor, outputNormBias: Tensor
    }

    public let config: HFModelConfig
    let wordEmbeddings: Tensor
    let positionEmbeddings: Tensor
    let tokenTypeEmbeddings: Tensor
    let embeddingNorm: Tensor, embeddingNormBias: Tensor
    let layers: [Layer]

    public convenience init(folder: URL) throws {
        let config = try HFModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        try self.init(config: config, weights: SafetensorsWeights(folder: folder))
    }

    public init(config: HFModelConfig, weights: SafetensorsWeights) throws {
        guard config.modelType == "bert" else {
            throw ModelConfigError.unsupportedModelType(path: config.path, modelType: config.modelType, supported: ["bert"])
        }
        guard ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"].contains(config.hiddenAct) else {
            throw ModelConfigError.unsupportedValue(path: config.path, key: "hidden_act", value: config.hiddenAct,
                                                    supported: "gelu, gelu_new, gelu_pytorch_tanh, relu")
        }
        self.config = config
        // Checkpoints saved from BertFor* heads put the encoder under "bert.".
        let prefix = weights.contains("bert.embeddings.word_embeddings.weight") ? "bert." : ""
        let h = config.hiddenSize, inner = config.intermediateSize
        func load(_ name: String, _ shape: [Int]) throws -> Tensor { try weights.floatTensor(prefix + name, shape: shape) }
        wordEmbeddings = try load("embeddings.word_embeddings.weight", [config.vocabSize, h])
        positionEmbeddings = try load("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try load("embeddings.token_type_embeddings.weight", [max(config.typeVocabSize, 1), h])
        embeddingNorm = try load("embeddings.LayerNorm.weight", [h])
        embeddingNormBias = try load("embeddings.LayerNorm.bias", [h])
        layers = try (0..<config.numHiddenLayers).map { i in
            let p = "encoder.layer.\(i)."
            return Layer(query: try load(p + "attention.self.query.weight", [h, h]),
                         queryBias: try load(p + "attention.self.query.bias", [h]),
                         key: try load(p + "attention.self.key.weight", [h, h]),
                         keyBias: try load(p + "attention.self.key.bias", [h]),
                         value: try load(p + "attention.self.value.weight", [h, h]),
                         valueBias: try load(p + "attention.self.value.bias", [h]),
                         attentionOutput: try load(p + "attention.output.dense.weight", [h, h]),
                         attentionOutputBias: try load(p + "attention.output.dense.bias", [h]),
                         attentionNorm: try load(p + "attention.output.LayerNorm.weight", [h]),
                         attentionNormBias: try load(p + "attention.output.LayerNorm.bias", [h]),
                         intermediate: try load(p + "intermediate.dense.weight", [inner, h]),
                         intermediateBias: try load(p + "intermediate.dense.bias", [inner]),
                         output: try load(p + "output.dense.weight", [h, inner]),
                         outputBias: try load(p + "output.dense.bias", [h]),
                         outputNorm: try load(p + "output.LayerNorm.weight", [h]),
                         outputNormBias: try load(p + "output.LayerNorm.bias", [h]))
        }
    }

    public enum InputError: Error, CustomStringConvertible, Equatable {
        case tooLong(tokens: Int, limit: Int)
        case empty
        public var description: String {
            switch self {
            case let .tooLong(tokens, limit): return "the input has \(tokens) tokens but the model takes at most \(limit); truncate it"
            case .empty: return "the input has no tokens"
            }
        }
    }

    /// Last hidden states `[T, hidden]` of one sequence. `attentionMask` (1 = attend, 0 = padding)
    /// hides padded keys; `typeIDs` are the segment ids (all 0 when nil).
    public func hiddenStates(ids: [Int], typeIDs: [Int]? = nil, attentionMask: [Int]? = nil) throws -> Tensor {
        let t = ids.count
        guard t > 0 else { throw InputError.empty }
        guard t <= config.maxPositionEmbeddings else { throw InputError.tooLong(tokens: t, limit: config.maxPositionEmbeddings) }
        var x = try Tensor.embedding(wordEmbeddings, ids: ids)
        x = try x + (try positionEmbeddings.slice(dim: 0, 0..<t))
        x = try x + Tensor.embedding(tokenTypeEmbeddings, ids: typeIDs ?? [Int](repeating: 0, count: t))
        x = try x.layernorm(weight: embeddingNorm, bias: embeddingNormBias, eps: Float(config.normEps))
        let keyBias: [Float] = (attentionMask ?? [Int](repeating: 1, count: t)).map { $0 == 0 ? -Float.infinity : 0 }
        guard keyBias.count == t else { throw TensorError.shapeMismatch(operation: "attention mask", lhs: [t], rhs: [keyBias.count]) }
        for layer in layers {
            let q = try Tensor.matmul(x, layer.query, transposeB: true) + layer.queryBias
            let k = try Tensor.matmul(x, layer.key, transposeB: true) + layer.keyBias
            let v = try Tensor.matmul(x, layer.value, transposeB: true) + layer.valueBias
            let context = attention(q: q, k: k, v: v, tokens: t, keyBias: keyBias)
            let attended = try Tensor.matmul(context, layer.attentionOutput, transposeB: true) + layer.attentionOutputBias
            x = try (attended + x).layernorm(weight: layer.attentionNorm, bias: layer.attentionNormBias, eps: Float(config.normEps))
            let up = try Tensor.matmul(x, layer.intermediate, transposeB: true) + layer.intermediateBias
            let activated = activate(up)
            let down = try Tensor.matmul(activated, layer.output, transposeB: true) + layer.outputBias
            x = try (down + x).layernorm(weight: layer.outputNorm, bias: layer.outputNormBias, eps: Float(config.normEps))
        }
        return x
    }

    private func activate(_ x: Tensor) -> Tensor {
        switch config.hiddenAct {
        case "gelu": return x.mapRows { src, dst, n in Kernels.geluErf(src, output: dst, n) }
        case "relu": return x.mapRows { src, dst, n in for i in 0..<n { dst[i] = max(src[i], 0) } }
        default: return x.geluTanh()
        }
    }

    /// Bidirectional multi-head attention over `[T, hidden]` projections; heads are column blocks.
    private func attention(q: Tensor, k: Tensor, v: Tensor, tokens t: Int, keyBias: [Float]) -> Tensor {
        let h = config.hiddenSize, heads = config.numAttentionHeads, d = config.headDim
        let out = Tensor(shape: [t, h])
        let scale = 1 / Float(d).squareRoot()
        let qp = q.basePointer, kp = k.basePointer, vp = v.basePointer, op = out.basePointer
        keyBias.withUnsafeBufferPointer { bias in
            let biasBox = UncheckedSendableBox(bias)
            Parallel.forRanges(heads) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
                defer { scores.deallocate() }
                for head in range {
                    let off = head * d
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(d), scale,
                                qp + off, Int32(h), kp + off, Int32(h), 0, scores, Int32(t))
                    for row in 0..<t {
                        let r = scores + row * t
                        for c in 0..<t { r[c] += biasBox.value[c] }
                        Kernels.softmax(r, output: r, t)
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(t), 1,
                                scores, Int32(t), vp + off, Int32(h), 0, op + off, Int32(h))
                }
            }
        }
        return out
    }
}
