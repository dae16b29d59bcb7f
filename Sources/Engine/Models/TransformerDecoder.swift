import Foundation

/// How a head vector's values are paired for rotary position embedding (llama.cpp's rope types).
public enum DecoderRopeLayout: String, Sendable {
    /// `LLAMA_ROPE_TYPE_NORM`: adjacent pairs (2i, 2i + 1) — llama.
    case normal
    /// `LLAMA_ROPE_TYPE_NEOX`: pairs (i, i + d/2) — qwen2, qwen3, gemma3.
    case neox
}

/// The gate activation of the feed-forward: down(act(gate(x)) · up(x)).
public enum DecoderActivation: String, Sendable {
    /// SwiGLU (llama, qwen2, qwen3).
    case silu
    /// GeGLU with the tanh approximation of GELU (gemma).
    case geluTanh
}

/// What a session rounds to fp16 besides the 8-bit activations of every quantized product (which
/// always follow llama.cpp, see docs/quantization.md).
public enum DecoderRounding: String, Sendable, CaseIterable {
    /// Keys, values, queries and GELU in fp32 (the default).
    case fp32
    /// Some of llama.cpp's CPU-backend roundings: keys and values rounded to fp16 when cached (its
    /// fp16 KV cache), queries rounded to fp16 (its attention converts Q to the cache type), GELU
    /// through ggml's fp16 table. Not its fp16 accumulation inside flash attention, so this is not
    /// bit-for-bit llama.cpp: on the real model it moves the top logits by up to ~0.5 and does not
    /// bring them closer to llama.cpp's on average (docs/gemma3.md, "Agreement with llama.cpp").
    case llamaCpp = "llama.cpp"
}

/// Everything the shared decoder needs to know about an architecture: its sizes (from GGUF
/// metadata) and its wiring. Per-layer choices (sliding window, RoPE base, optional tensors) live
/// in the blocks.
public struct DecoderConfiguration: Sendable, Equatable {
    /// `general.architecture`.
    public var architecture: String
    public var vocabularySize: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var keyLength: Int
    public var valueLength: Int
    public var rmsEpsilon: Float
    public var contextLength: Int
    /// Queries are multiplied by this before the dot products.
    public var attentionScale: Float
    /// A query at position p sees keys p - slidingWindow + 1 ... p in sliding-window layers.
    public var slidingWindow: Int
    /// RoPE bases of the sliding-window layers and of the others (equal when there is no window).
    public var localRopeBase: Float
    public var globalRopeBase: Float
    /// Linear RoPE scaling: angles are divided by this (`rope.scaling.type = linear`).
    public var ropeFrequencyScale: Float
    /// Per-pair divisors of the RoPE frequencies (`rope_freqs.weight`, Llama 3), `keyLength / 2` values.
    public var ropeFrequencyFactors: [Float]?
    public var ropeLayout: DecoderRopeLayout
    /// The token embedding is multiplied by this (Gemma: √d_model); nil: not scaled.
    public var embeddingScale: Float?
    public var activation: DecoderActivation
    /// Attention scores become cap · tanh(score / cap) before the softmax (gemma2); nil: not capped.
    public var attentionSoftcap: Float?
    /// Logits become cap · tanh(logit / cap) (gemma2); nil: not capped.
    public var finalLogitSoftcap: Float?

    public var queryWidth: Int { headCount * keyLength }
    public var keyWidth: Int { kvHeadCount * keyLength }
    public var valueWidth: Int { kvHeadCount * valueLength }
    public var attentionWidth: Int { headCount * valueLength }
}

/// The weights of one decoder block. Matrices stay as they are in the mapped file (quantized, F16,
/// F32); vectors (norms, biases: a few hundred floats each) are copied out as F32. Optional tensors
/// are the wiring differences between architectures.
// @unchecked Sendable: weights and norms point into read-only mapped or copied buffers that no one writes after load.
struct DecoderBlock: @unchecked Sendable {
    let attentionNorm: Tensor
    let query: QuantizedMatrix
    let key: QuantizedMatrix
    let value: QuantizedMatrix
    /// Q/K/V biases (qwen2).
    let queryBias: Tensor?
    let keyBias: Tensor?
    let valueBias: Tensor?
    /// Per-head RMSNorm of queries and keys before RoPE (qwen3, gemma3).
    let queryNorm: Tensor?
    let keyNorm: Tensor?
    let output: QuantizedMatrix
    /// Norm of the attention output before the residual add (gemma); nil: added as it is.
    let postAttentionNorm: Tensor?
    let feedForwardNorm: Tensor
    let gate: QuantizedMatrix
    let up: QuantizedMatrix
    let down: QuantizedMatrix
    /// Norm of the feed-forward output before the residual add (gemma).
    let postFeedForwardNorm: Tensor?
    let slidingWindow: Bool
}

/// A decoder-only Transformer of any supported architecture, from a GGUF file or a Hugging Face
/// folder: the shared engine (`DecoderSession`) over the blocks an architecture file
/// (`Architectures/`) and a loader (`DecoderGGUFLoader`, `DecoderHFLoader`) build.
///
/// The model is immutable and shared; each conversation runs in a `DecoderSession`, which owns
/// the key/value cache and the scratch buffers.
// @unchecked Sendable: immutable after load (every stored property is a `let` over read-only weights); sessions hold the mutable cache and scratch.
public final class TransformerDecoder: @unchecked Sendable {
    /// Where the weights came from.
    public enum Source: Sendable {
        case gguf(GGUFFile)
        /// A Hugging Face folder (config.json + safetensors).
        case folder(URL)
    }

    public let source: Source
    public let configuration: DecoderConfiguration
    let tokenEmbedding: QuantizedMatrix
    /// The output projection: `output.weight`, or the token embedding when tied.
    let output: QuantizedMatrix
    let blocks: [DecoderBlock]
    let outputNorm: Tensor

    /// The GGUF file of a model opened from one (its tokenizer and metadata); nil for a folder.
    public var file: GGUFFile? {
        if case .gguf(let f) = source { return f }
        return nil
    }

    /// The file or folder path.
    public var path: String {
        switch source {
        case .gguf(let f): return f.path
        case .folder(let url): return url.path
        }
    }

    /// Whether logits reuse the token embedding.
    public var tiedOutput: Bool { output.sharesStorage(with: tokenEmbedding) }

    /// The architectures `init(file:)` opens.
    public static let supportedArchitectures = ["gemma2", "gemma3", "llama", "phi3", "qwen2", "qwen3"]

    /// The architectures of Hugging Face folders (`init(folder:)`), by `model_type`.
    static let huggingFaceArchitectures: [any HFDecoderArchitecture.Type] = [
        Gemma2Architecture.self, Gemma3Architecture.self, LlamaArchitecture.self, Phi3Architecture.self,
        Qwen2Architecture.self, Qwen3Architecture.self,
    ]

    /// Every `model_type` `init(folder:)` reads.
    public static var supportedModelTypes: [String] { huggingFaceArchitectures.flatMap { $0.huggingFace.modelTypes }.sorted() }

    init(source: Source, configuration: DecoderConfiguration, tokenEmbedding: QuantizedMatrix,
         output: QuantizedMatrix, blocks: [DecoderBlock], outputNorm: Tensor) {
        self.source = source
        self.configuration = configuration
        self.tokenEmbedding = tokenEmbedding
        self.output = output
        self.blocks = blocks
        self.outputNorm = outputNorm
    }

    convenience init(file: GGUFFile, configuration: DecoderConfiguration, tokenEmbedding: QuantizedMatrix,
                     output: QuantizedMatrix, blocks: [DecoderBlock], outputNorm: Tensor) {
        self.init(source: .gguf(file), configuration: configuration, tokenEmbedding: tokenEmbedding, output: output,
                  blocks: blocks, outputNorm: outputNorm)
    }

    /// The same model with other blocks (adapters merged); shares everything else.
    func replacingBlocks(_ blocks: [DecoderBlock]) -> TransformerDecoder {
        TransformerDecoder(source: source, configuration: configuration, tokenEmbedding: tokenEmbedding, output: output,
                           blocks: blocks, outputNorm: outputNorm)
    }

    /// A `.gguf` file or a Hugging Face folder.
    public convenience init(path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            try self.init(folder: URL(fileURLWithPath: path, isDirectory: true))
        } else {
            try self.init(file: GGUFFile(path: path))
        }
    }

    /// Opens a GGUF of any of `supportedArchitectures`; another architecture is a
    /// `ModelError.unsupportedArchitecture`.
    public convenience init(file: GGUFFile) throws {
        let model: TransformerDecoder
        switch file.metadata.architecture {
        case "gemma2": model = try Gemma2Architecture.load(file)
        case "gemma3": model = try Gemma3Model(file: file).decoder
        case "llama": model = try LlamaArchitecture.load(file)
        case "phi3": model = try Phi3Architecture.load(file)
        case "qwen2": model = try Qwen2Architecture.load(file)
        case "qwen3": model = try Qwen3Architecture.load(file)
        default:
            throw ModelError.unsupportedArchitecture(path: file.path, found: file.metadata.architecture,
                                                     supported: Self.supportedArchitectures)
        }
        self.init(source: .gguf(file), configuration: model.configuration, tokenEmbedding: model.tokenEmbedding,
                  output: model.output, blocks: model.blocks, outputNorm: model.outputNorm)
    }

    /// Opens a Hugging Face folder (config.json + model.safetensors or a sharded index) whose
    /// `model_type` is one of `supportedModelTypes`; another is a `ModelConfigError.unsupportedModelType`.
    public convenience init(folder: URL) throws {
        let config = try HFConfigValues(folder: folder)
        guard let type = config.modelType else { throw ModelConfigError.missingKey(path: config.path, key: "model_type") }
        guard let arch = Self.huggingFaceArchitectures.first(where: { $0.huggingFace.modelTypes.contains(type) }) else {
            throw ModelConfigError.unsupportedModelType(path: config.path, modelType: type, supported: Self.supportedModelTypes)
        }
        let model = try DecoderHFLoader(folder: folder, config: config, architecture: arch.name, wiring: arch.wiring,
                                        conventions: arch.huggingFace, weights: try SafetensorsWeights(folder: folder)).load()
        self.init(source: .folder(folder), configuration: model.configuration, tokenEmbedding: model.tokenEmbedding,
                  output: model.output, blocks: model.blocks, outputNorm: model.outputNorm)
    }

    /// A new conversation with an empty cache of at most `contextLength` positions
    /// (default: the model's context length; memory grows only as positions are used).
    public func makeSession(contextLength: Int? = nil, maximumBatchSize: Int = 256,
                            rounding: DecoderRounding = .fp32) -> DecoderSession {
        makeSession(contextLength: contextLength, maximumBatchSize: maximumBatchSize, rounding: rounding, kernelLevel: .best)
    }

    /// A session whose kernels run at `kernelLevel` (tests compare the levels).
    func makeSession(contextLength: Int? = nil, maximumBatchSize: Int = 256, rounding: DecoderRounding = .fp32,
                     kernelLevel: KernelLevel) -> DecoderSession {
        DecoderSession(model: self, contextLength: min(contextLength ?? configuration.contextLength, configuration.contextLength),
                       maximumBatchSize: maximumBatchSize, rounding: rounding, kernelLevel: kernelLevel)
    }
}
