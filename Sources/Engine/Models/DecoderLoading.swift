import Foundation

/// What an architecture file says about its GGUF beyond the shared `<arch>.*` keys and tensor
/// names: the wiring options of the shared decoder.
struct DecoderWiring: Sendable {
    var ropeLayout: DecoderRopeLayout
    var activation: DecoderActivation
    /// `attn_q.bias`, `attn_k.bias`, `attn_v.bias` must be present (qwen2). Without this they are
    /// still used when a file has them, as llama.cpp does for llama.
    var requiresAttentionBiases = false
    /// Per-head `attn_q_norm` / `attn_k_norm` before RoPE (qwen3).
    var queryKeyNorms = false
    /// Llama 3's `rope_freqs.weight` divides the RoPE frequencies when present.
    var readsRopeFrequencyFactors = false
    /// RoPE base when the file has no `<arch>.rope.freq_base`.
    var defaultRopeBase: Float = 10_000
    /// Q, K and V in one `attn_qkv` matrix (rows: Q, then K, then V) when a file has it (phi3).
    var fusedQueryKeyValue = false
    /// Gate and up in one `ffn_up` matrix of 2·ff rows (gate first), no `ffn_gate` (phi3).
    var fusedGateUp = false
    /// Gemma's conventions: `post_attention_norm` / `post_ffw_norm`, the embedding × √d_model, the
    /// 27B (46-layer) attention scale 1/√(d/heads).
    var gemmaNorms = false
    /// Every `slidingWindowPattern`-th layer is global, the others see `attention.sliding_window`
    /// keys (default `defaultSlidingWindow`); `attention.sliding_window_pattern` overrides it.
    var slidingWindowPattern: Int?
    var defaultSlidingWindow = 4096
    /// `attn_logit_softcapping` / `final_logit_softcapping` (defaults 50 / 30) (gemma2).
    var softcapping = false
}

/// An architecture of the shared decoder that llama.cpp's common GGUF layout describes (pre-norm
/// blocks, separate Q/K/V, gate/up/down): one small file says its name and wiring.
protocol DecoderArchitecture {
    static var name: String { get }
    static var wiring: DecoderWiring { get }
}

extension DecoderArchitecture {
    static func load(_ file: GGUFFile) throws -> TransformerDecoder {
        try DecoderGGUFLoader(file: file, architecture: name, wiring: wiring).load()
    }
}

/// Reads llama.cpp's `<arch>.*` hyper-parameters and the standard tensor names
/// (`token_embd`, `blk.N.attn_q`, …, `output_norm`, optional `output`) into a `TransformerDecoder`.
struct DecoderGGUFLoader {
    let file: GGUFFile
    let architecture: String
    let wiring: DecoderWiring

    private var path: String { file.path }

    private func key(_ name: String) -> String { architecture + "." + name }

    private func required(_ name: String) throws -> Int {
        guard let v = file.metadata.int(key(name)) else { throw GGUFError.missingMetadata(path: path, key: key(name)) }
        guard v > 0 else { throw ModelError.invalidHyperparameter(path: path, key: key(name), reason: "\(v) is not positive") }
        return v
    }

    /// A float hyper-parameter that must be finite and inside `range` (and not 0).
    private func real(_ name: String, default fallback: Float, in range: ClosedRange<Float>) throws -> Float {
        guard let v = file.metadata.float(key(name)) else { return fallback }
        guard v.isFinite, range.contains(v), v != 0 else {
            throw ModelError.invalidHyperparameter(path: path, key: key(name),
                                                   reason: "\(v) is outside \(range.lowerBound)…\(range.upperBound) (and must not be 0)")
        }
        return v
    }

    func configuration() throws -> DecoderConfiguration {
        let m = file.metadata
        guard m.architecture == architecture else {
            throw ModelError.wrongArchitecture(path: path, found: m.architecture, expected: architecture)
        }
        let d = try required("embedding_length")
        let ff = try required("feed_forward_length")
        let layers = try required("block_count")
        let heads = try required("attention.head_count")
        let kvHeads = m.int(key("attention.head_count_kv")) ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw ModelError.invalidHyperparameter(path: path, key: key("attention.head_count_kv"),
                                                   reason: "\(kvHeads) does not divide the \(heads) query heads")
        }
        let keyLength = m.int(key("attention.key_length")) ?? d / heads
        let valueLength = m.int(key("attention.value_length")) ?? keyLength
        guard keyLength > 0, keyLength % 2 == 0, valueLength > 0 else {
            throw ModelError.invalidHyperparameter(path: path, key: key("attention.key_length"),
                                                   reason: "head dimensions \(keyLength)/\(valueLength) must be positive and even")
        }
        guard d <= 1 << 16, ff <= 1 << 18, layers <= 1024, heads <= 1024, keyLength <= 4096, valueLength <= 4096 else {
            throw ModelError.invalidHyperparameter(path: path, key: key("embedding_length"),
                                                   reason: "widths \(d)/\(ff), \(layers) layers, \(heads) heads of \(keyLength) are beyond any real model")
        }
        if let rotary = m.int(key("rope.dimension_count")), rotary != keyLength {
            throw ModelError.invalidHyperparameter(path: path, key: key("rope.dimension_count"),
                                                   reason: "partial rotary (\(rotary) of \(keyLength) dimensions) is not supported")
        }
        let epsilon = try real("attention.layer_norm_rms_epsilon", default: 1e-5, in: 0...0.1)
        let ropeBase = try real("rope.freq_base", default: wiring.defaultRopeBase, in: 1...1e12)
        var frequencyScale: Float = 1
        switch m.string(key("rope.scaling.type")) {
        case nil, "none": break
        case "linear":
            frequencyScale = try real("rope.scaling.factor", default: 1, in: 1e-3...1e3)
        case let other?:
            throw ModelError.invalidHyperparameter(path: path, key: key("rope.scaling.type"),
                                                   reason: "'\(other)' RoPE scaling is not supported (none and linear are)")
        }
        var factors: [Float]?
        if wiring.readsRopeFrequencyFactors, file.info("rope_freqs.weight") != nil {
            let tensor = try vector("rope_freqs.weight", length: keyLength / 2)
            let values = Array(UnsafeBufferPointer(start: tensor.basePointer, count: keyLength / 2))
            guard values.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ModelError.invalidHyperparameter(path: path, key: "rope_freqs.weight", reason: "factors must be finite and positive")
            }
            factors = values
        }
        let context = m.int(key("context_length")) ?? 4096
        guard context > 0, context <= 1 << 24 else {
            throw ModelError.invalidHyperparameter(path: path, key: key("context_length"), reason: "\(context) is not between 1 and 16M positions")
        }
        guard let embd = file.info("token_embd.weight") else { throw GGUFError.missingTensor(path: path, name: "token_embd.weight") }
        let vocabulary = embd.rowCount
        if let tokens = m.array("tokenizer.ggml.tokens")?.count, tokens != vocabulary {
            throw ModelError.tensorShape(path: path, name: "token_embd.weight", expected: [d, tokens], found: embd.dimensions)
        }
        if let stated = m.int(key("vocab_size")), stated != vocabulary {
            throw ModelError.invalidHyperparameter(path: path, key: key("vocab_size"),
                                                   reason: "\(stated) but token_embd.weight has \(vocabulary) rows")
        }
        var window = context
        if wiring.slidingWindowPattern != nil {
            window = m.int(key("attention.sliding_window")) ?? wiring.defaultSlidingWindow
            guard window > 0, window <= context else {
                throw ModelError.invalidHyperparameter(path: path, key: key("attention.sliding_window"),
                                                       reason: "\(window) is not between 1 and the context length \(context)")
            }
        }
        let localBase = wiring.slidingWindowPattern == nil ? ropeBase : try real("rope.freq_base_swa", default: ropeBase, in: 1...1e12)
        let scaleDimension = wiring.gemmaNorms && layers == 46 ? d / heads : keyLength
        return DecoderConfiguration(
            architecture: architecture, vocabularySize: vocabulary, embeddingLength: d, feedForwardLength: ff,
            layerCount: layers, headCount: heads, kvHeadCount: kvHeads, keyLength: keyLength, valueLength: valueLength,
            rmsEpsilon: epsilon, contextLength: context, attentionScale: 1 / Float(scaleDimension).squareRoot(),
            slidingWindow: window, localRopeBase: localBase, globalRopeBase: ropeBase, ropeFrequencyScale: frequencyScale,
            ropeFrequencyFactors: factors, ropeLayout: wiring.ropeLayout,
            embeddingScale: wiring.gemmaNorms ? Float(d).squareRoot() : nil, activation: wiring.activation,
            attentionSoftcap: wiring.softcapping ? try real("attn_logit_softcapping", default: 50, in: 1e-3...1e6) : nil,
            finalLogitSoftcap: wiring.softcapping ? try real("final_logit_softcapping", default: 30, in: 1e-3...1e6) : nil)
    }

    /// A matrix `rows × cols` (PyTorch `[out, in]`; GGUF dimensions `[cols, rows]`), kept in its file type.
    private func matrix(_ name: String, rows: Int, cols: Int) throws -> QuantizedMatrix {
        let tensor = try file.tensor(name)
        guard tensor.info.dimensions == [cols, rows] else {
            throw ModelError.tensorShape(path: path, name: name, expected: [cols, rows], found: tensor.info.dimensions)
        }
        return try QuantizedMatrix(tensor: tensor)
    }

    /// Rows `rows` of a `totalRows × cols` matrix, as a matrix of their own over the same mapped
    /// bytes (the parts of a fused projection).
    private func matrixRows(_ name: String, totalRows: Int, cols: Int, rows: Range<Int>) throws -> QuantizedMatrix {
        let tensor = try file.tensor(name)
        guard tensor.info.dimensions == [cols, totalRows] else {
            throw ModelError.tensorShape(path: path, name: name, expected: [cols, totalRows], found: tensor.info.dimensions)
        }
        let rowBytes = tensor.info.type.rowByteCount(cols)
        let start = rows.lowerBound * rowBytes, end = rows.upperBound * rowBytes
        guard end <= tensor.bytes.count else {
            throw ModelError.tensorShape(path: path, name: name, expected: [cols, totalRows], found: tensor.info.dimensions)
        }
        let info = GGUFTensorInfo(name: "\(name)[\(rows.lowerBound)..<\(rows.upperBound)]", dimensions: [cols, rows.count],
                                  type: tensor.info.type, offset: tensor.info.offset + start, byteCount: end - start)
        return try QuantizedMatrix(tensor: GGUFTensor(info: info, bytes: UnsafeRawBufferPointer(rebasing: tensor.bytes[start..<end]),
                                                      owner: tensor.owner))
    }

    /// A vector copied out as F32.
    private func vector(_ name: String, length: Int) throws -> Tensor {
        let tensor = try file.tensor(name)
        guard tensor.info.dimensions == [length] else {
            throw ModelError.tensorShape(path: path, name: name, expected: [length], found: tensor.info.dimensions)
        }
        return try QuantizedMatrix(tensor: tensor).dequantized().reshaped([length])
    }

    private func optionalVector(_ name: String, length: Int, required: Bool) throws -> Tensor? {
        guard required || file.info(name) != nil else { return nil }
        return try vector(name, length: length)
    }

    func load() throws -> TransformerDecoder {
        let c = try configuration()
        let d = c.embeddingLength
        let embedding = try matrix("token_embd.weight", rows: c.vocabularySize, cols: d)
        let output = file.info("output.weight") == nil ? embedding : try matrix("output.weight", rows: c.vocabularySize, cols: d)
        for unsupported in ["output.bias", "rope_factors_long.weight", "rope_factors_short.weight"] where file.info(unsupported) != nil {
            throw ModelError.invalidHyperparameter(path: path, key: unsupported,
                                                   reason: "the tensor is not supported yet (output bias, LongRoPE factors); use a file without it")
        }
        var pattern = 0
        if let fallback = wiring.slidingWindowPattern {
            pattern = file.metadata.int(key("attention.sliding_window_pattern")) ?? fallback
            guard pattern >= 1 else {
                throw ModelError.invalidHyperparameter(path: path, key: key("attention.sliding_window_pattern"), reason: "\(pattern) must be at least 1")
            }
        }
        var blocks: [DecoderBlock] = []
        for i in 0..<c.layerCount {
            let p = "blk.\(i)."
            let biases = wiring.requiresAttentionBiases
            let query: QuantizedMatrix, key: QuantizedMatrix, value: QuantizedMatrix
            if wiring.fusedQueryKeyValue, file.info(p + "attn_qkv.weight") != nil {
                let q = c.queryWidth, k = c.keyWidth, total = c.queryWidth + c.keyWidth + c.valueWidth
                query = try matrixRows(p + "attn_qkv.weight", totalRows: total, cols: d, rows: 0..<q)
                key = try matrixRows(p + "attn_qkv.weight", totalRows: total, cols: d, rows: q..<(q + k))
                value = try matrixRows(p + "attn_qkv.weight", totalRows: total, cols: d, rows: (q + k)..<total)
            } else {
                query = try matrix(p + "attn_q.weight", rows: c.queryWidth, cols: d)
                key = try matrix(p + "attn_k.weight", rows: c.keyWidth, cols: d)
                value = try matrix(p + "attn_v.weight", rows: c.valueWidth, cols: d)
            }
            let ff = c.feedForwardLength
            let gate: QuantizedMatrix, up: QuantizedMatrix
            if wiring.fusedGateUp {
                gate = try matrixRows(p + "ffn_up.weight", totalRows: 2 * ff, cols: d, rows: 0..<ff)
                up = try matrixRows(p + "ffn_up.weight", totalRows: 2 * ff, cols: d, rows: ff..<(2 * ff))
            } else {
                gate = try matrix(p + "ffn_gate.weight", rows: ff, cols: d)
                up = try matrix(p + "ffn_up.weight", rows: ff, cols: d)
            }
            blocks.append(DecoderBlock(
                attentionNorm: try vector(p + "attn_norm.weight", length: d),
                query: query, key: key, value: value,
                queryBias: try optionalVector(p + "attn_q.bias", length: c.queryWidth, required: biases),
                keyBias: try optionalVector(p + "attn_k.bias", length: c.keyWidth, required: biases),
                valueBias: try optionalVector(p + "attn_v.bias", length: c.valueWidth, required: biases),
                queryNorm: wiring.queryKeyNorms ? try vector(p + "attn_q_norm.weight", length: c.keyLength) : nil,
                keyNorm: wiring.queryKeyNorms ? try vector(p + "attn_k_norm.weight", length: c.keyLength) : nil,
                output: try matrix(p + "attn_output.weight", rows: d, cols: c.attentionWidth),
                postAttentionNorm: wiring.gemmaNorms ? try vector(p + "post_attention_norm.weight", length: d) : nil,
                feedForwardNorm: try vector(p + "ffn_norm.weight", length: d),
                gate: gate, up: up,
                down: try matrix(p + "ffn_down.weight", rows: d, cols: c.feedForwardLength),
                postFeedForwardNorm: wiring.gemmaNorms ? try vector(p + "post_ffw_norm.weight", length: d) : nil,
                // llama.cpp's set_swa_pattern: layer il is local when il % n < n - 1.
                slidingWindow: pattern > 1 && i % pattern < pattern - 1))
        }
        return TransformerDecoder(file: file, configuration: c, tokenEmbedding: embedding, output: output, blocks: blocks,
                            outputNorm: try vector("output_norm.weight", length: d))
    }
}
