import Foundation

/// Whether a Hugging Face checkpoint of an architecture has Q/K/V biases.
enum HFAttentionBias: Sendable {
    /// Always (Qwen2 hard-codes `bias=True` for q/k/v).
    case always
    /// When `attention_bias` is true in config.json (llama, default false).
    case configKey
    case never
}

/// What an architecture file says about its Hugging Face folders beyond the shared names
/// (`model.embed_tokens`, `model.layers.N.self_attn.q_proj`, …): which `model_type`s it reads and
/// the conventions of its config.json. The tensor names themselves follow from the wiring
/// (`HFDecoderNames`).
struct HFDecoderConventions: Sendable {
    /// `model_type` values read; the first is the one export writes.
    var modelTypes: [String]
    /// `architectures[0]` export writes.
    var className: String
    var attentionBias: HFAttentionBias = .never
    /// `tie_word_embeddings` when config.json does not say (transformers' default of the class).
    var tiedByDefault = false
    /// `sliding_window` (when set and `layer_types` is absent) applies to every layer (phi3, mistral).
    var slidingWindowOnEveryLayer = false
}

/// An architecture whose Hugging Face folders the shared loader reads.
protocol HFDecoderArchitecture {
    static var name: String { get }
    static var wiring: DecoderWiring { get }
    static var huggingFace: HFDecoderConventions { get }
}

/// The Hugging Face tensor names of one layer, derived from the wiring: Gemma's four norms, Phi-3's
/// fused projections, the others' llama names (whose `post_attention_layernorm` is the FFN pre-norm).
struct HFDecoderNames {
    let wiring: DecoderWiring

    func prefix(_ layer: Int) -> String { "model.layers.\(layer)." }
    var attentionNorm: String { "input_layernorm.weight" }
    var feedForwardNorm: String { wiring.gemmaNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight" }
    var postAttentionNorm: String? { wiring.gemmaNorms ? "post_attention_layernorm.weight" : nil }
    var postFeedForwardNorm: String? { wiring.gemmaNorms ? "post_feedforward_layernorm.weight" : nil }
    /// Gemma's RMSNorm multiplies by (1 + w): the engine (as GGUF files) keeps 1 + w.
    var normOffset: Float { wiring.gemmaNorms ? 1 : 0 }
}

/// config.json values with the checks a loader needs; every error names the file and the key.
struct HFConfigValues {
    let path: String
    let json: [String: Any]

    init(folder: URL) throws {
        let url = folder.appendingPathComponent("config.json")
        path = url.path
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelConfigError.unreadable(path: url.path, reason: "the file is missing")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelConfigError.unreadable(path: url.path, reason: "it is not a JSON object")
        }
        json = object
    }

    init(path: String, json: [String: Any]) {
        self.path = path
        self.json = json
    }

    func isNull(_ key: String) -> Bool { json[key] == nil || json[key] is NSNull }
    func string(_ key: String) -> String? { json[key] as? String }
    func object(_ key: String) -> [String: Any]? { json[key] as? [String: Any] }
    func bool(_ key: String) -> Bool? { (json[key] as? NSNumber)?.boolValue }

    func int(_ key: String) throws -> Int? {
        guard !isNull(key) else { return nil }
        guard let v = json[key] as? Int else { throw ModelConfigError.wrongType(path: path, key: key, expected: "an integer") }
        return v
    }

    func number(_ key: String) throws -> Double? {
        guard !isNull(key) else { return nil }
        guard let v = (json[key] as? NSNumber)?.doubleValue, v.isFinite else {
            throw ModelConfigError.wrongType(path: path, key: key, expected: "a finite number")
        }
        return v
    }

    /// A positive integer no real model exceeds `limit` in.
    func size(_ key: String, default fallback: Int? = nil, limit: Int = 1 << 24) throws -> Int {
        guard let v = try int(key) ?? fallback else { throw ModelConfigError.missingKey(path: path, key: key) }
        guard v > 0, v <= limit else {
            throw ModelConfigError.unsupportedValue(path: path, key: key, value: "\(v)", supported: "1…\(limit)")
        }
        return v
    }

    /// `model_type`, or the text model's type of a `*ForCausalLM` entry in `architectures`.
    var modelType: String? { string("model_type") }
}

/// The RoPE settings of config.json in either spelling: transformers 5's `rope_parameters`
/// (`{rope_type, rope_theta, factor, …}`, or one such object per layer type for Gemma 3) and the
/// older `rope_theta` + `rope_scaling` (+ Gemma 3's `rope_local_base_freq`).
struct HFRope: Equatable {
    var base: Double
    var scaling: RopeScaling?

    static func read(_ values: HFConfigValues, layerType: String?, defaultBase: Double) throws -> HFRope {
        let path = values.path
        let sliding = layerType == "sliding_attention"
        var parameters: [String: Any]?
        var key = "rope_scaling"
        var base: Double?
        if let rp = values.object("rope_parameters") {
            key = "rope_parameters"
            if rp["full_attention"] is [String: Any] || rp["sliding_attention"] is [String: Any] {
                let type = sliding ? "sliding_attention" : "full_attention"
                parameters = rp[type] as? [String: Any]
                key += ".\(type)"
            } else {
                parameters = rp
            }
            base = (parameters?["rope_theta"] as? NSNumber)?.doubleValue
        } else {
            // Older spelling: Gemma 3's local layers have their own base and are never scaled.
            let separateLocal = !values.isNull("rope_local_base_freq")
            base = sliding && separateLocal ? try values.number("rope_local_base_freq") : nil
            parameters = sliding && separateLocal ? nil : values.object("rope_scaling")
        }
        if base == nil { base = try values.number("rope_theta") }
        let theta = base ?? defaultBase
        guard theta.isFinite, theta >= 1, theta <= 1e12 else {
            throw ModelConfigError.unsupportedValue(path: path, key: "rope_theta", value: "\(theta)", supported: "1…1e12")
        }
        let partial = (parameters?["partial_rotary_factor"] as? NSNumber) ?? (values.json["partial_rotary_factor"] as? NSNumber)
        if let partial, partial.doubleValue != 1 {
            throw ModelConfigError.unsupportedValue(path: path, key: "partial_rotary_factor", value: "\(partial)", supported: "1 (full rotary)")
        }
        guard let p = parameters else { return HFRope(base: theta, scaling: nil) }
        let type = (p["rope_type"] as? String) ?? (p["type"] as? String) ?? "default"
        func number(_ name: String) throws -> Double {
            guard let v = (p[name] as? NSNumber)?.doubleValue, v.isFinite, v > 0 else {
                throw ModelConfigError.missingKey(path: path, key: "\(key).\(name)")
            }
            return v
        }
        switch type {
        case "default": return HFRope(base: theta, scaling: nil)
        case "linear": return HFRope(base: theta, scaling: .linear(factor: try number("factor")))
        case "llama3":
            let original = try number("original_max_position_embeddings")
            return HFRope(base: theta, scaling: .llama3(factor: try number("factor"), lowFrequencyFactor: try number("low_freq_factor"),
                                                        highFrequencyFactor: try number("high_freq_factor"), originalMaxPositions: Int(original)))
        default:
            throw ModelConfigError.unsupportedValue(path: path, key: "\(key).rope_type", value: type, supported: "default, linear, llama3")
        }
    }
}

/// Reads a Hugging Face folder (config.json + model.safetensors or shards) of an architecture into
/// a `TransformerDecoder`: F32/F16/BF16 matrices stay in the mapping as stored (the kernels read
/// all three), norms and biases are copied out as F32 (Gemma's with the +1 the engine keeps).
struct DecoderHFLoader {
    let folder: URL
    let config: HFConfigValues
    let architecture: String
    let wiring: DecoderWiring
    let conventions: HFDecoderConventions
    let weights: SafetensorsWeights

    private var path: String { config.path }

    /// The configuration and which layers use the sliding window.
    func configuration() throws -> (DecoderConfiguration, sliding: [Bool]) {
        let c = config
        let d = try c.size("hidden_size", limit: 1 << 16)
        let ff = try c.size("intermediate_size", limit: 1 << 18)
        let layers = try c.size("num_hidden_layers", limit: 1024)
        let heads = try c.size("num_attention_heads", limit: 1024)
        let kvHeads = try c.size("num_key_value_heads", default: heads, limit: 1024)
        guard heads % kvHeads == 0 else {
            throw ModelConfigError.inconsistent(path: path, reason: "num_key_value_heads \(kvHeads) does not divide num_attention_heads \(heads)")
        }
        let headDim = try c.size("head_dim", default: d / max(heads, 1), limit: 4096)
        guard headDim % 2 == 0 else {
            throw ModelConfigError.unsupportedValue(path: path, key: "head_dim", value: "\(headDim)", supported: "an even width (RoPE pairs)")
        }
        let vocabulary = try c.size("vocab_size")
        let context = try c.size("max_position_embeddings", default: 4096)
        let epsilon = try c.number("rms_norm_eps") ?? 1e-6
        guard epsilon > 0, epsilon <= 0.1 else {
            throw ModelConfigError.unsupportedValue(path: path, key: "rms_norm_eps", value: "\(epsilon)", supported: "0…0.1")
        }
        let activationKey = c.isNull("hidden_activation") ? "hidden_act" : "hidden_activation"
        let activation = c.string(activationKey) ?? (wiring.activation == .silu ? "silu" : "gelu_pytorch_tanh")
        let expected = wiring.activation == .silu ? ["silu", "swish"] : ["gelu_pytorch_tanh", "gelu_tanh"]
        guard expected.contains(activation) else {
            throw ModelConfigError.unsupportedValue(path: path, key: activationKey, value: activation, supported: expected.joined(separator: ", "))
        }
        if c.bool("mlp_bias") == true {
            throw ModelConfigError.unsupportedValue(path: path, key: "mlp_bias", value: "true", supported: "false")
        }

        // Which layers slide: layer_types when given, else the architecture's pattern, else (phi3,
        // mistral) sliding_window on every layer.
        var sliding = [Bool](repeating: false, count: layers)
        let window = try c.int("sliding_window")
        if let types = c.json["layer_types"] as? [String] {
            guard types.count == layers else {
                throw ModelConfigError.inconsistent(path: path, reason: "layer_types has \(types.count) entries for \(layers) layers")
            }
            for (i, t) in types.enumerated() {
                guard t == "sliding_attention" || t == "full_attention" else {
                    throw ModelConfigError.unsupportedValue(path: path, key: "layer_types[\(i)]", value: t, supported: "sliding_attention, full_attention")
                }
                sliding[i] = t == "sliding_attention"
            }
        } else if let fallback = wiring.slidingWindowPattern {
            let pattern = try c.int("sliding_window_pattern") ?? c.int("_sliding_window_pattern") ?? fallback
            guard pattern >= 1 else {
                throw ModelConfigError.unsupportedValue(path: path, key: "sliding_window_pattern", value: "\(pattern)", supported: "≥ 1")
            }
            // transformers: layer i is sliding when (i + 1) % pattern != 0.
            for i in 0..<layers { sliding[i] = pattern > 1 && (i + 1) % pattern != 0 }
        } else if conventions.slidingWindowOnEveryLayer, window != nil {
            sliding = [Bool](repeating: true, count: layers)
        } else if c.bool("use_sliding_window") == true {
            throw ModelConfigError.unsupportedValue(path: path, key: "use_sliding_window", value: "true without layer_types",
                                                    supported: "false, or layer_types naming the sliding layers")
        }
        var slidingWindow = context
        if sliding.contains(true) {
            let w = window ?? wiring.defaultSlidingWindow
            guard w > 0 else { throw ModelConfigError.unsupportedValue(path: path, key: "sliding_window", value: "\(w)", supported: "≥ 1") }
            // A window as long as the context never hides a key.
            if w >= context { sliding = sliding.map { _ in false } } else { slidingWindow = w }
        }

        let global = try HFRope.read(c, layerType: sliding.contains(true) ? "full_attention" : nil, defaultBase: Double(wiring.defaultRopeBase))
        let local = sliding.contains(true) ? try HFRope.read(c, layerType: "sliding_attention", defaultBase: global.base) : global
        guard local.scaling == global.scaling else {
            throw ModelConfigError.unsupportedValue(path: path, key: "rope_scaling", value: "scaling on the global layers only",
                                                    supported: "the same RoPE scaling on every layer")
        }
        var frequencyScale: Float = 1
        var factors: [Float]?
        switch global.scaling {
        case nil: break
        case let .linear(factor)?: frequencyScale = Float(factor)
        case .llama3?:
            // As llama.cpp's converter does: per-pair divisors of the frequencies (`rope_freqs`).
            let half = headDim / 2
            let plain = (0..<half).map { pow(global.base, -2.0 * Double($0) / Double(headDim)) }
            let scaled = global.scaling?.apply(to: plain) ?? plain
            factors = zip(plain, scaled).map { Float($0 / $1) }
        }
        var attentionScale = 1 / Float(headDim).squareRoot()
        if wiring.gemmaNorms {
            let scalar = try c.number("query_pre_attn_scalar") ?? Double(headDim)
            guard scalar > 0 else {
                throw ModelConfigError.unsupportedValue(path: path, key: "query_pre_attn_scalar", value: "\(scalar)", supported: "> 0")
            }
            attentionScale = Float(1 / scalar.squareRoot())
        }
        func cap(_ key: String, _ fallback: Double) throws -> Float? {
            guard wiring.softcapping || c.json[key] != nil else { return nil }
            if c.json[key] is NSNull { return nil }
            let v = try c.number(key) ?? fallback
            guard v > 0 else {
                throw ModelConfigError.unsupportedValue(path: path, key: key, value: "\(c.json[key] ?? "")", supported: "a positive number or null")
            }
            return Float(v)
        }
        let configuration = DecoderConfiguration(
            architecture: architecture, vocabularySize: vocabulary, embeddingLength: d, feedForwardLength: ff,
            layerCount: layers, headCount: heads, kvHeadCount: kvHeads, keyLength: headDim, valueLength: headDim,
            rmsEpsilon: Float(epsilon), contextLength: context, attentionScale: attentionScale, slidingWindow: slidingWindow,
            localRopeBase: Float(local.base), globalRopeBase: Float(global.base), ropeFrequencyScale: frequencyScale,
            ropeFrequencyFactors: factors,
            // transformers rotates halves (rotate_half) for every family; llama.cpp's converter
            // permutes llama's q/k rows so that its NORM layout gives the same result.
            ropeLayout: .neox,
            embeddingScale: wiring.gemmaNorms ? Float(d).squareRoot() : nil, activation: wiring.activation,
            attentionSoftcap: try cap("attn_logit_softcapping", 50), finalLogitSoftcap: try cap("final_logit_softcapping", 30))
        return (configuration, sliding)
    }

    private func shapeError(_ name: String, _ expected: [Int], _ found: [Int]) -> Error {
        SafetensorsError.invalidTensor(path: weights.path(of: name), name: name,
                                       reason: "shape \(found), expected \(expected) from config.json")
    }

    /// A `rows × cols` matrix in its stored type (F32, F16, BF16 in place; F64 or a misaligned
    /// tensor copied to F32, as the kernels cannot read those where they are).
    func matrix(_ name: String, rows: Int, cols: Int) throws -> QuantizedMatrix {
        let (info, bytes, owner) = try weights.tensorBytes(name)
        guard info.shape == [rows, cols] else { throw shapeError(name, [rows, cols], info.shape) }
        let type: GGMLType?
        switch info.dtype {
        case .f32: type = .f32
        case .f16: type = .f16
        case .bf16: type = .bf16
        case .f64: type = nil
        default:
            throw SafetensorsError.unsupportedConversion(path: weights.path(of: name), name: name, dtype: info.dtype.rawValue,
                                                         to: "a weight matrix (F32, F16, BF16)")
        }
        if let type, let base = bytes.baseAddress, Int(bitPattern: base) % type.typeSize == 0 {
            return try QuantizedMatrix(type: type, rows: rows, cols: cols, bytes: bytes, owner: owner, name: name)
        }
        return try QuantizedMatrix(float32: try weights.floatTensor(name))
    }

    /// A vector copied out as F32, plus `offset` (Gemma's norms).
    func vector(_ name: String, length: Int, offset: Float = 0) throws -> Tensor {
        let info = try weights.info(name)
        guard info.shape == [length] else { throw shapeError(name, [length], info.shape) }
        let t = try weights.floatTensor(name).reshaped([length])
        if offset != 0 {
            let p = t.basePointer
            for i in 0..<length { p[i] += offset }
        }
        return t
    }

    func load() throws -> TransformerDecoder {
        let (c, sliding) = try configuration()
        let d = c.embeddingLength, ff = c.feedForwardLength
        let names = HFDecoderNames(wiring: wiring)
        let embedding = try matrix("model.embed_tokens.weight", rows: c.vocabularySize, cols: d)
        let tied = config.bool("tie_word_embeddings") ?? conventions.tiedByDefault
        let output = tied || !weights.contains("lm_head.weight") ? embedding
            : try matrix("lm_head.weight", rows: c.vocabularySize, cols: d)
        if weights.contains("lm_head.bias") {
            throw ModelConfigError.unsupportedValue(path: path, key: "lm_head.bias", value: "present", supported: "no output bias")
        }
        let biases: Bool
        switch conventions.attentionBias {
        case .always: biases = true
        case .never: biases = false
        case .configKey: biases = config.bool("attention_bias") ?? false
        }
        var blocks: [DecoderBlock] = []
        for i in 0..<c.layerCount {
            let p = names.prefix(i)
            let query: QuantizedMatrix, key: QuantizedMatrix, value: QuantizedMatrix
            if wiring.fusedQueryKeyValue {
                let q = c.queryWidth, k = c.keyWidth, total = q + k + c.valueWidth
                let fused = try matrix(p + "self_attn.qkv_proj.weight", rows: total, cols: d)
                guard let fq = fused.rows(0..<q), let fk = fused.rows(q..<(q + k)), let fv = fused.rows((q + k)..<total) else {
                    throw shapeError(p + "self_attn.qkv_proj.weight", [total, d], [fused.rows, fused.cols])
                }
                (query, key, value) = (fq, fk, fv)
            } else {
                query = try matrix(p + "self_attn.q_proj.weight", rows: c.queryWidth, cols: d)
                key = try matrix(p + "self_attn.k_proj.weight", rows: c.keyWidth, cols: d)
                value = try matrix(p + "self_attn.v_proj.weight", rows: c.valueWidth, cols: d)
            }
            let gate: QuantizedMatrix, up: QuantizedMatrix
            if wiring.fusedGateUp {
                // Phi3MLP: gate, up = gate_up_proj(x).chunk(2): gate rows first.
                let fused = try matrix(p + "mlp.gate_up_proj.weight", rows: 2 * ff, cols: d)
                guard let fg = fused.rows(0..<ff), let fu = fused.rows(ff..<(2 * ff)) else {
                    throw shapeError(p + "mlp.gate_up_proj.weight", [2 * ff, d], [fused.rows, fused.cols])
                }
                (gate, up) = (fg, fu)
            } else {
                gate = try matrix(p + "mlp.gate_proj.weight", rows: ff, cols: d)
                up = try matrix(p + "mlp.up_proj.weight", rows: ff, cols: d)
            }
            func bias(_ name: String, _ length: Int) throws -> Tensor? {
                biases ? try vector(p + "self_attn.\(name).bias", length: length) : nil
            }
            let offset = names.normOffset
            blocks.append(DecoderBlock(
                attentionNorm: try vector(p + names.attentionNorm, length: d, offset: offset),
                query: query, key: key, value: value,
                queryBias: wiring.fusedQueryKeyValue ? nil : try bias("q_proj", c.queryWidth),
                keyBias: wiring.fusedQueryKeyValue ? nil : try bias("k_proj", c.keyWidth),
                valueBias: wiring.fusedQueryKeyValue ? nil : try bias("v_proj", c.valueWidth),
                queryNorm: wiring.queryKeyNorms ? try vector(p + "self_attn.q_norm.weight", length: c.keyLength, offset: offset) : nil,
                keyNorm: wiring.queryKeyNorms ? try vector(p + "self_attn.k_norm.weight", length: c.keyLength, offset: offset) : nil,
                output: try matrix(p + "self_attn.o_proj.weight", rows: d, cols: c.attentionWidth),
                postAttentionNorm: try names.postAttentionNorm.map { try vector(p + $0, length: d, offset: offset) },
                feedForwardNorm: try vector(p + names.feedForwardNorm, length: d, offset: offset),
                gate: gate, up: up,
                down: try matrix(p + "mlp.down_proj.weight", rows: d, cols: ff),
                postFeedForwardNorm: try names.postFeedForwardNorm.map { try vector(p + $0, length: d, offset: offset) },
                slidingWindow: sliding[i]))
        }
        return TransformerDecoder(source: .folder(folder), configuration: c, tokenEmbedding: embedding, output: output,
                                  blocks: blocks, outputNorm: try vector("model.norm.weight", length: d, offset: names.normOffset))
    }
}
