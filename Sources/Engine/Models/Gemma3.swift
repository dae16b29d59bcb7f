import Foundation

/// The weights of one Gemma 3 block. Matrices stay quantized in the mapped file; norm vectors
/// (a few hundred floats each) are copied out as F32.
// @unchecked Sendable: weights point into the read-only memory map or copies no one writes after load.
struct Gemma3Block: @unchecked Sendable {
    let attentionNorm: Tensor
    let query: QuantizedMatrix
    let key: QuantizedMatrix
    let value: QuantizedMatrix
    let queryNorm: Tensor
    let keyNorm: Tensor
    let output: QuantizedMatrix
    let postAttentionNorm: Tensor
    let feedForwardNorm: Tensor
    let gate: QuantizedMatrix
    let up: QuantizedMatrix
    let down: QuantizedMatrix
    let postFeedForwardNorm: Tensor
    let slidingWindow: Bool
    let ropeBase: Float
}

/// Gemma 3 (decoder-only) from a GGUF file: interleaved sliding-window and global attention with
/// per-layer RoPE bases, QK-norm, GeGLU feed-forward, pre- and post-norms around both sublayers,
/// an embedding scaled by √d_model and logits tied to the token embedding.
///
/// The model is immutable and shared; each conversation runs in a `Gemma3Session` (the shared
/// `DecoderSession` over `decoder`, wired by `Gemma3Architecture`), which owns the key/value cache
/// and the scratch buffers. The trainable graph and merged export read the blocks here.
// @unchecked Sendable: immutable after load: every stored property is a `let` over read-only weights.
public final class Gemma3Model: @unchecked Sendable {
    public let file: GGUFFile
    public let hyperparameters: Gemma3Hyperparameters
    let tokenEmbedding: QuantizedMatrix
    let blocks: [Gemma3Block]
    let outputNorm: Tensor
    let embeddingScale: Float
    /// The same weights as the shared decoder runs them.
    public let decoder: TransformerDecoder

    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path))
    }

    public init(file: GGUFFile) throws {
        self.file = file
        let hp = try Gemma3Hyperparameters(file: file)
        hyperparameters = hp
        let path = file.path
        let d = hp.embeddingLength

        /// A matrix `rows × cols` (PyTorch `[out, in]`; GGUF dimensions `[cols, rows]`).
        func matrix(_ name: String, rows: Int, cols: Int) throws -> QuantizedMatrix {
            let tensor = try file.tensor(name)
            guard tensor.info.dimensions == [cols, rows] else {
                throw ModelError.tensorShape(path: path, name: name, expected: [cols, rows], found: tensor.info.dimensions)
            }
            return try QuantizedMatrix(tensor: tensor)
        }
        func vector(_ name: String, length: Int) throws -> Tensor {
            let tensor = try file.tensor(name)
            guard tensor.info.dimensions == [length] else {
                throw ModelError.tensorShape(path: path, name: name, expected: [length], found: tensor.info.dimensions)
            }
            return try QuantizedMatrix(tensor: tensor).dequantized().reshaped([length])
        }

        let embedding = try matrix("token_embd.weight", rows: hp.vocabularySize, cols: d)
        let finalNorm = try vector("output_norm.weight", length: d)
        tokenEmbedding = embedding
        outputNorm = finalNorm
        var blocks: [Gemma3Block] = []
        for i in 0..<hp.layerCount {
            let p = "blk.\(i)."
            blocks.append(Gemma3Block(
                attentionNorm: try vector(p + "attn_norm.weight", length: d),
                query: try matrix(p + "attn_q.weight", rows: hp.queryWidth, cols: d),
                key: try matrix(p + "attn_k.weight", rows: hp.keyWidth, cols: d),
                value: try matrix(p + "attn_v.weight", rows: hp.valueWidth, cols: d),
                queryNorm: try vector(p + "attn_q_norm.weight", length: hp.keyLength),
                keyNorm: try vector(p + "attn_k_norm.weight", length: hp.keyLength),
                output: try matrix(p + "attn_output.weight", rows: d, cols: hp.attentionWidth),
                postAttentionNorm: try vector(p + "post_attention_norm.weight", length: d),
                feedForwardNorm: try vector(p + "ffn_norm.weight", length: d),
                gate: try matrix(p + "ffn_gate.weight", rows: hp.feedForwardLength, cols: d),
                up: try matrix(p + "ffn_up.weight", rows: hp.feedForwardLength, cols: d),
                down: try matrix(p + "ffn_down.weight", rows: d, cols: hp.feedForwardLength),
                postFeedForwardNorm: try vector(p + "post_ffw_norm.weight", length: d),
                slidingWindow: hp.usesSlidingWindow(layer: i),
                ropeBase: hp.ropeBase(layer: i)))
        }
        self.blocks = blocks
        // llama.cpp multiplies by sqrtf(n_embd) in fp32.
        let scale = Float(d).squareRoot()
        embeddingScale = scale
        decoder = Gemma3Architecture.decoder(file: file, hyperparameters: hp, tokenEmbedding: embedding,
                                             blocks: blocks, outputNorm: finalNorm, embeddingScale: scale)
    }

    /// The same model with other blocks (LoRA adapters merged, see `applying(_:)`); shares the mapping.
    init(base: Gemma3Model, blocks: [Gemma3Block]) {
        file = base.file
        hyperparameters = base.hyperparameters
        tokenEmbedding = base.tokenEmbedding
        self.blocks = blocks
        outputNorm = base.outputNorm
        embeddingScale = base.embeddingScale
        decoder = Gemma3Architecture.decoder(file: base.file, hyperparameters: base.hyperparameters,
                                             tokenEmbedding: base.tokenEmbedding, blocks: blocks,
                                             outputNorm: base.outputNorm, embeddingScale: base.embeddingScale)
    }

    /// A new conversation with an empty cache of at most `contextLength` positions
    /// (default: the model's context length; memory grows only as positions are used).
    /// `rounding`: `.fp32` (default) keeps the KV cache, queries and GELU in fp32; `.llamaCpp`
    /// rounds them through fp16 as llama.cpp does.
    public func makeSession(contextLength: Int? = nil, maximumBatchSize: Int = 256,
                            rounding: Gemma3Rounding = .fp32) -> Gemma3Session {
        decoder.makeSession(contextLength: contextLength, maximumBatchSize: maximumBatchSize, rounding: rounding, kernelLevel: .best)
    }

    /// A session whose kernels run at `kernelLevel` (tests compare the levels).
    func makeSession(contextLength: Int? = nil, maximumBatchSize: Int = 256, rounding: Gemma3Rounding = .fp32,
                     kernelLevel: KernelLevel) -> Gemma3Session {
        decoder.makeSession(contextLength: contextLength, maximumBatchSize: maximumBatchSize, rounding: rounding,
                            kernelLevel: kernelLevel)
    }
}

/// Gemma 3 runs on the shared decoder: a session of it is a `DecoderSession`.
public typealias Gemma3Session = DecoderSession
/// The fp16 roundings a Gemma 3 session can follow (`DecoderRounding`).
public typealias Gemma3Rounding = DecoderRounding
