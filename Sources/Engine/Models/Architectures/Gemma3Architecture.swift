import Foundation

/// Gemma 3 on the shared decoder: `gemma3.*` hyper-parameters (`Gemma3Hyperparameters`, with the
/// values llama.cpp derives rather than reads), pre- and post-norms around both sublayers, QK-norm,
/// NEOX RoPE with a local base in the sliding-window layers, GeGLU (tanh GELU), the embedding
/// scaled by √d_model, logits tied to the token embedding. The tensors are read by `Gemma3Model`.
enum Gemma3Architecture: HFDecoderArchitecture {
    static let name = "gemma3"
    /// The wiring the shared loaders read Hugging Face folders with (GGUFs go through `Gemma3Model`).
    static let wiring = DecoderWiring(ropeLayout: .neox, activation: .geluTanh, queryKeyNorms: true, gemmaNorms: true,
                                      slidingWindowPattern: 6)
    /// Hugging Face `gemma3_text` (`Gemma3ForCausalLM`): as gemma2 without soft-capping, with q/k norms
    /// (× (1 + w)) and a local RoPE base (`rope_local_base_freq`, or `rope_parameters.sliding_attention`).
    static let huggingFace = HFDecoderConventions(modelTypes: ["gemma3_text"], className: "Gemma3ForCausalLM", tiedByDefault: true)

    static func configuration(_ hp: Gemma3Hyperparameters, embeddingScale: Float) -> DecoderConfiguration {
        DecoderConfiguration(
            architecture: "gemma3", vocabularySize: hp.vocabularySize, embeddingLength: hp.embeddingLength,
            feedForwardLength: hp.feedForwardLength, layerCount: hp.layerCount, headCount: hp.headCount,
            kvHeadCount: hp.kvHeadCount, keyLength: hp.keyLength, valueLength: hp.valueLength, rmsEpsilon: hp.rmsEpsilon,
            contextLength: hp.contextLength, attentionScale: hp.attentionScale, slidingWindow: hp.slidingWindow,
            localRopeBase: hp.localRopeBase, globalRopeBase: hp.globalRopeBase, ropeFrequencyScale: 1,
            ropeFrequencyFactors: nil, ropeLayout: .neox, embeddingScale: embeddingScale, activation: .geluTanh,
            attentionSoftcap: nil, finalLogitSoftcap: nil)
    }

    static func decoder(file: GGUFFile, hyperparameters hp: Gemma3Hyperparameters, tokenEmbedding: QuantizedMatrix,
                        blocks: [Gemma3Block], outputNorm: Tensor, embeddingScale: Float) -> TransformerDecoder {
        let decoderBlocks = blocks.map { block in
            DecoderBlock(attentionNorm: block.attentionNorm, query: block.query, key: block.key, value: block.value,
                         queryBias: nil, keyBias: nil, valueBias: nil, queryNorm: block.queryNorm, keyNorm: block.keyNorm,
                         output: block.output, postAttentionNorm: block.postAttentionNorm,
                         feedForwardNorm: block.feedForwardNorm, gate: block.gate, up: block.up, down: block.down,
                         postFeedForwardNorm: block.postFeedForwardNorm, slidingWindow: block.slidingWindow)
        }
        return TransformerDecoder(file: file, configuration: configuration(hp, embeddingScale: embeddingScale),
                            tokenEmbedding: tokenEmbedding, output: tokenEmbedding, blocks: decoderBlocks,
                            outputNorm: outputNorm)
    }
}
