/// Gemma 3 hyper-parameters as read from `gemma3.*` GGUF metadata, with the values llama.cpp
/// derives for the architecture rather than reads (sliding-window pattern, local RoPE base).
public struct Gemma3Hyperparameters: Sendable, Equatable {
    public var vocabularySize: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var keyLength: Int
    public var valueLength: Int
    public var rmsEpsilon: Float
    /// RoPE base of the global (full-attention) layers: `gemma3.rope.freq_base`.
    public var globalRopeBase: Float
    /// RoPE base of the sliding-window layers; Gemma 3 trains them with 10 000 and GGUF files do
    /// not store it.
    public var localRopeBase: Float
    /// A query at position p sees keys p - slidingWindow + 1 ... p in sliding-window layers.
    public var slidingWindow: Int
    /// Every `slidingWindowPattern`-th layer (1-based) is global; the others use the window.
    public var slidingWindowPattern: Int
    public var contextLength: Int
    /// Queries are multiplied by this before the dot products.
    public var attentionScale: Float

    public var queryWidth: Int { headCount * keyLength }
    public var keyWidth: Int { kvHeadCount * keyLength }
    public var valueWidth: Int { kvHeadCount * valueLength }
    public var attentionWidth: Int { headCount * valueLength }

    public func usesSlidingWindow(layer: Int) -> Bool {
        slidingWindowPattern > 1 && layer % slidingWindowPattern < slidingWindowPattern - 1
    }

    public func ropeBase(layer: Int) -> Float { usesSlidingWindow(layer: layer) ? localRopeBase : globalRopeBase }

    public init(vocabularySize: Int, embeddingLength: Int, feedForwardLength: Int, layerCount: Int,
                headCount: Int, kvHeadCount: Int, keyLength: Int, valueLength: Int, rmsEpsilon: Float,
                globalRopeBase: Float, localRopeBase: Float, slidingWindow: Int, slidingWindowPattern: Int,
                contextLength: Int, attentionScale: Float) {
        self.vocabularySize = vocabularySize
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.keyLength = keyLength
        self.valueLength = valueLength
        self.rmsEpsilon = rmsEpsilon
        self.globalRopeBase = globalRopeBase
        self.localRopeBase = localRopeBase
        self.slidingWindow = slidingWindow
        self.slidingWindowPattern = slidingWindowPattern
        self.contextLength = contextLength
        self.attentionScale = attentionScale
    }

    /// Reads the hyper-parameters of a `gemma3` GGUF file. `vocabularySize` comes from the
    /// token embedding (the tokenizer list may be absent in stripped files).
    public init(file: GGUFFile) throws {
        let m = file.metadata
        let path = file.path
        guard m.architecture == "gemma3" else {
            throw ModelError.wrongArchitecture(path: path, found: m.architecture, expected: "gemma3")
        }
        func required(_ key: String) throws -> Int {
            guard let v = m.int("gemma3." + key) else { throw GGUFError.missingMetadata(path: path, key: "gemma3." + key) }
            guard v > 0 else { throw ModelError.invalidHyperparameter(path: path, key: "gemma3." + key, reason: "\(v) is not positive") }
            return v
        }
        embeddingLength = try required("embedding_length")
        feedForwardLength = try required("feed_forward_length")
        layerCount = try required("block_count")
        headCount = try required("attention.head_count")
        kvHeadCount = m.int("gemma3.attention.head_count_kv") ?? headCount
        guard kvHeadCount > 0, headCount % kvHeadCount == 0 else {
            throw ModelError.invalidHyperparameter(path: path, key: "gemma3.attention.head_count_kv",
                                                   reason: "\(kvHeadCount) does not divide the \(headCount) query heads")
        }
        keyLength = m.int("gemma3.attention.key_length") ?? embeddingLength / headCount
        valueLength = m.int("gemma3.attention.value_length") ?? keyLength
        guard keyLength > 0, keyLength % 2 == 0, valueLength > 0 else {
            throw ModelError.invalidHyperparameter(path: path, key: "gemma3.attention.key_length",
                                                   reason: "head dimensions \(keyLength)/\(valueLength) must be positive and even")
        }
        /// A float hyper-parameter that must be finite and inside `range` (the types were checked at load).
        func real(_ key: String, default fallback: Float, in range: ClosedRange<Float>) throws -> Float {
            guard let v = m.float("gemma3." + key) else { return fallback }
            guard v.isFinite, range.contains(v), v != 0 else {
                throw ModelError.invalidHyperparameter(path: path, key: "gemma3." + key,
                                                       reason: "\(v) is outside \(range.lowerBound)…\(range.upperBound) (and must not be 0)")
            }
            return v
        }
        rmsEpsilon = try real("attention.layer_norm_rms_epsilon", default: 1e-6, in: 0...0.1)
        globalRopeBase = try real("rope.freq_base", default: 1_000_000, in: 1...1e12)
        // Gemma 3 trains the sliding-window layers with base 10 000; newer converters store it.
        localRopeBase = try real("rope.freq_base_swa", default: 10_000, in: 1...1e12)
        contextLength = m.int("gemma3.context_length") ?? 32_768
        guard contextLength <= 1 << 24 else {
            throw ModelError.invalidHyperparameter(path: path, key: "gemma3.context_length", reason: "\(contextLength) is more than 16M positions")
        }
        slidingWindow = m.int("gemma3.attention.sliding_window") ?? 512
        guard slidingWindow > 0, contextLength > 0, slidingWindow <= contextLength else {
            throw ModelError.invalidHyperparameter(path: path, key: "gemma3.attention.sliding_window",
                                                   reason: "window \(slidingWindow) and context \(contextLength) must be positive")
        }
        // llama.cpp fixes the pattern at 6 for gemma3; honour an explicit key when a file has one.
        slidingWindowPattern = m.int("gemma3.attention.sliding_window_pattern") ?? 6
        guard slidingWindowPattern >= 1, slidingWindowPattern <= layerCount + 1 else {
            throw ModelError.invalidHyperparameter(path: path, key: "gemma3.attention.sliding_window_pattern",
                                                   reason: "\(slidingWindowPattern) must be between 1 and the layer count + 1")
        }
        guard embeddingLength <= 1 << 16, feedForwardLength <= 1 << 18, layerCount <= 1024, headCount <= 1024,
              keyLength <= 4096, valueLength <= 4096 else {
            throw ModelError.invalidHyperparameter(path: path, key: "gemma3.embedding_length",
                                                   reason: "widths \(embeddingLength)/\(feedForwardLength), \(layerCount) layers, \(headCount) heads of \(keyLength) are beyond any real model")
        }
        // Gemma 3 27B scales by 1/sqrt(d_model / heads); every other size by 1/sqrt(head dim)
        // (llama.cpp keys this on the 62-layer count).
        let scaleDim = layerCount == 62 ? embeddingLength / headCount : keyLength
        attentionScale = 1 / Float(scaleDim).squareRoot()
        guard let embd = file.info("token_embd.weight") else {
            throw GGUFError.missingTensor(path: path, name: "token_embd.weight")
        }
        vocabularySize = embd.rowCount
        if let stated = m.int("gemma3.vocab_size"), stated != vocabularySize {
            throw ModelError.invalidHyperparameter(path: path, key: "gemma3.vocab_size",
                                                   reason: "\(stated) but token_embd.weight has \(vocabularySize) rows")
        }
        if let rotary = m.int("gemma3.rope.dimension_count"), rotary != keyLength {
            throw ModelError.invalidHyperparameter(path: path, key: "gemma3.rope.dimension_count",
                                                   reason: "partial rotary (\(rotary) of \(keyLength) dimensions) is not supported")
        }
        if let tokens = m.array("tokenizer.ggml.tokens")?.count, tokens != vocabularySize {
            throw ModelError.tensorShape(path: path, name: "token_embd.weight", expected: [embeddingLength, tokens],
                                         found: embd.dimensions)
        }
    }
}
