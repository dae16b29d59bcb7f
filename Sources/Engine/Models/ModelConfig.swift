import Foundation

public enum ModelConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case missingKey(path: String, key: String)
    case wrongType(path: String, key: String, expected: String)
    case unsupportedModelType(path: String, modelType: String, supported: [String])
    case unsupportedValue(path: String, key: String, value: String, supported: String)
    case inconsistent(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason); a Hugging Face model folder needs a valid config.json"
        case let .missingKey(path, key):
            return "\(path) has no '\(key)'; the config is incomplete — use the config.json that came with the weights"
        case let .wrongType(path, key, expected):
            return "\(path): '\(key)' should be \(expected)"
        case let .unsupportedModelType(path, type, supported):
            return "\(path): model_type '\(type)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case let .unsupportedValue(path, key, value, supported):
            return "\(path): \(key) = \(value) is not supported (supported: \(supported))"
        case let .inconsistent(path, reason):
            return "\(path): \(reason)"
        }
    }
}

/// How an architecture reads its input and produces its output.
public enum ArchitectureKind: String, Sendable, Codable {
    case encoderOnly = "encoder-only"
    case decoderOnly = "decoder-only"
    case encoderDecoder = "encoder-decoder"
}

/// RoPE frequency scaling as given by `rope_scaling` in config.json.
public enum RopeScaling: Sendable, Equatable {
    /// Positions divided by `factor` (every frequency divided by it).
    case linear(factor: Double)
    /// Llama 3.1: long wavelengths divided by `factor`, short ones kept, a smooth blend between.
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositions: Int)

    /// Inverse frequencies of the `rotaryDim / 2` rotated pairs, scaled.
    public func apply(to inverseFrequencies: [Double]) -> [Double] {
        switch self {
        case let .linear(factor):
            return inverseFrequencies.map { $0 / factor }
        case let .llama3(factor, low, high, original):
            let lowWavelength = Double(original) / low
            let highWavelength = Double(original) / high
            return inverseFrequencies.map { f in
                let wavelength = 2 * Double.pi / f
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / factor }
                let smooth = (Double(original) / wavelength - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        }
    }
}

/// The fields of a Hugging Face `config.json` the engine's architectures need, under one set of
/// names (GPT-2's `n_embd`, `n_layer`… are mapped onto them, as `transformers` does).
public struct HFModelConfig: Sendable, Equatable {
    public static let supportedModelTypes = ["bert", "gpt2", "llama", "qwen2", "mistral"]

    public let path: String
    public let modelType: String
    public let architecture: ArchitectureKind
    public let hiddenSize: Int
    public let numHiddenLayers: Int
    public let numAttentionHeads: Int
    /// Equal to `numAttentionHeads` unless the model uses grouped-query attention.
    public let numKeyValueHeads: Int
    public let headDim: Int
    public let intermediateSize: Int
    public let vocabSize: Int
    public let maxPositionEmbeddings: Int
    /// `layer_norm_eps` (BERT), `layer_norm_epsilon` (GPT-2) or `rms_norm_eps` (Llama family).
    public let normEps: Double
    public let ropeTheta: Double
    public let ropeScaling: RopeScaling?
    public let hiddenAct: String
    public let tieWordEmbeddings: Bool
    /// BERT segment vocabulary (0 for models without token types).
    public let typeVocabSize: Int
    /// Llama-family q/k/v projections carry a bias (Qwen2 always; Llama when `attention_bias`).
    public let attentionBias: Bool
    public let mlpBias: Bool
    public let bosTokenId: Int?
    public let eosTokenIds: [Int]
    public let padTokenId: Int?
    /// Keys present in the file that the engine does not read (training-only settings, metadata).
    public let ignoredKeys: [String]

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelConfigError.unreadable(path: url.path, reason: "the file cannot be read")
        }
        try self.init(json: data, path: url.path)
    }

    public init(json: Data, path: String = "config.json") throws {
        guard let root = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            throw ModelConfigError.unreadable(path: path, reason: "it is not a JSON object")
        }
        var reader = ConfigReader(values: root, path: path)
        let type = try reader.string("model_type")
        self.path = path
        modelType = type
        switch type {
        case "bert":
            architecture = .encoderOnly
            hiddenSize = try reader.int("hidden_size")
            numHiddenLayers = try reader.int("num_hidden_layers")
            numAttentionHeads = try reader.int("num_attention_heads")
            numKeyValueHeads = numAttentionHeads
            intermediateSize = try reader.int("intermediate_size")
            vocabSize = try reader.int("vocab_size")
            maxPositionEmbeddings = try reader.int("max_position_embeddings")
            normEps = try reader.double("layer_norm_eps", default: 1e-12)
            typeVocabSize = try reader.int("type_vocab_size", default: 2)
            hiddenAct = try reader.string("hidden_act", default: "gelu")
            let positions = try reader.string("position_embedding_type", default: "absolute")
            guard positions == "absolute" else {
                throw ModelConfigError.unsupportedValue(path: path, key: "position_embedding_type", value: positions, supported: "absolute")
            }
            ropeTheta = 0
            ropeScaling = nil
            tieWordEmbeddings = try reader.bool("tie_word_embeddings", default: true)
            attentionBias = true
            mlpBias = true
        case "gpt2":
            architecture = .decoderOnly
            hiddenSize = try reader.int("n_embd", alias: "hidden_size")
            numHiddenLayers = try reader.int("n_layer", alias: "num_hidden_layers")
            numAttentionHeads = try reader.int("n_head", alias: "num_attention_heads")
            numKeyValueHeads = numAttentionHeads
            intermediateSize = try reader.optionalInt("n_inner") ?? 4 * hiddenSize
            vocabSize = try reader.int("vocab_size")
            maxPositionEmbeddings = try reader.int("n_positions", alias: "max_position_embeddings")
            normEps = try reader.double("layer_norm_epsilon", default: 1e-5)
            typeVocabSize = 0
            hiddenAct = try reader.string("activation_function", default: "gelu_new")
            ropeTheta = 0
            ropeScaling = nil
            tieWordEmbeddings = try reader.bool("tie_word_embeddings", default: true)
            attentionBias = true
            mlpBias = true
            for key in ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"] where try reader.bool(key, default: false) {
                throw ModelConfigError.unsupportedValue(path: path, key: key, value: "true", supported: "false")
            }
            _ = try reader.bool("scale_attn_weights", default: true)
        default:
            guard ["llama", "qwen2", "mistral"].contains(type) else {
                throw ModelConfigError.unsupportedModelType(path: path, modelType: type, supported: Self.supportedModelTypes)
            }
            architecture = .decoderOnly
            hiddenSize = try reader.int("hidden_size")
            numHiddenLayers = try reader.int("num_hidden_layers")
            numAttentionHeads = try reader.int("num_attention_heads")
            numKeyValueHeads = try reader.optionalInt("num_key_value_heads") ?? numAttentionHeads
            intermediateSize = try reader.int("intermediate_size")
            vocabSize = try reader.int("vocab_size")
            maxPositionEmbeddings = try reader.int("max_position_embeddings")
            normEps = try reader.double("rms_norm_eps", default: 1e-6)
            typeVocabSize = 0
            hiddenAct = try reader.string("hidden_act", default: "silu")
            ropeTheta = try reader.double("rope_theta", default: 10_000)
            ropeScaling = try reader.ropeScaling(maxPositions: maxPositionEmbeddings)
            tieWordEmbeddings = try reader.bool("tie_word_embeddings", default: false)
            attentionBias = type == "qwen2" ? true : try reader.bool("attention_bias", default: false)
            mlpBias = try reader.bool("mlp_bias", default: false)
            if type != "llama" {
                let windowed = try reader.bool("use_sliding_window", default: type == "mistral")
                if windowed, let window = try reader.optionalInt("sliding_window"), window < maxPositionEmbeddings {
                    throw ModelConfigError.unsupportedValue(path: path, key: "sliding_window", value: String(window),
                                                            supported: "none (full attention)")
                }
                _ = try reader.optionalInt("max_window_layers")
            }
            let pretrainingTP = try reader.optionalInt("pretraining_tp") ?? 1
            guard pretrainingTP >= 1 else {
                throw ModelConfigError.wrongType(path: path, key: "pretraining_tp", expected: "a positive integer")
            }
        }
        let explicitHeadDim = try reader.optionalInt("head_dim")
        guard numAttentionHeads > 0, numKeyValueHeads > 0, hiddenSize > 0, numHiddenLayers > 0, vocabSize > 0 else {
            throw ModelConfigError.inconsistent(path: path, reason: "sizes must be positive")
        }
        headDim = explicitHeadDim ?? hiddenSize / numAttentionHeads
        guard explicitHeadDim != nil || hiddenSize % numAttentionHeads == 0 else {
            throw ModelConfigError.inconsistent(path: path, reason: "hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw ModelConfigError.inconsistent(path: path, reason: "num_attention_heads \(numAttentionHeads) is not a multiple of num_key_value_heads \(numKeyValueHeads)")
        }
        let supportedActivations = ["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish"]
        guard supportedActivations.contains(hiddenAct) else {
            throw ModelConfigError.unsupportedValue(path: path, key: "hidden_act", value: hiddenAct,
                                                    supported: supportedActivations.joined(separator: ", "))
        }
        bosTokenId = try reader.optionalInt("bos_token_id")
        eosTokenIds = try reader.intOrInts("eos_token_id")
        padTokenId = try reader.optionalInt("pad_token_id")
        for key in Self.knownUnusedKeys { reader.markRead(key) }
        ignoredKeys = reader.unreadKeys
    }

    /// Keys common in HF configs that do not change inference.
    private static let knownUnusedKeys = [
        "architectures", "_name_or_path", "transformers_version", "torch_dtype", "use_cache", "initializer_range",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "attention_dropout", "resid_pdrop", "embd_pdrop",
        "attn_pdrop", "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels",
        "summary_first_dropout", "gradient_checkpointing", "task_specific_params", "classifier_dropout",
        "dtype", "n_ctx",
    ]
}

/// Reads typed values out of a config dictionary, remembering which keys were used.
private struct ConfigReader {
    let values: [String: Any]
    let path: String
    private var read: Set<String> = []

    init(values: [String: Any], path: String) {
        self.values = values
        self.path = path
    }

    mutating func markRead(_ key: String) { read.insert(key) }

    var unreadKeys: [String] { values.keys.filter { !read.contains($0) }.sorted() }

    private mutating func raw(_ key: String) -> Any? {
        read.insert(key)
        guard let v = values[key], !(v is NSNull) else { return nil }
        return v
    }

    mutating func string(_ key: String, default fallback: String? = nil) throws -> String {
        guard let v = raw(key) else {
            if let fallback { return fallback }
            throw ModelConfigError.missingKey(path: path, key: key)
        }
        guard let s = v as? String else { throw ModelConfigError.wrongType(path: path, key: key, expected: "a string") }
        return s
    }

    mutating func optionalInt(_ key: String) throws -> Int? {
        guard let v = raw(key) else { return nil }
        guard let i = v as? Int else {
            throw ModelConfigError.wrongType(path: path, key: key, expected: "an integer")
        }
        return i
    }

    mutating func int(_ key: String, alias: String? = nil, default fallback: Int? = nil) throws -> Int {
        if let i = try optionalInt(key) { return i }
        if let alias, let i = try optionalInt(alias) { return i }
        if let fallback { return fallback }
        throw ModelConfigError.missingKey(path: path, key: key)
    }

    mutating func double(_ key: String, default fallback: Double) throws -> Double {
        guard let v = raw(key) else { return fallback }
        guard let d = v as? Double else { throw ModelConfigError.wrongType(path: path, key: key, expected: "a number") }
        return d
    }

    mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let v = raw(key) else { return fallback }
        guard let b = v as? Bool else { throw ModelConfigError.wrongType(path: path, key: key, expected: "true or false") }
        return b
    }

    mutating func intOrInts(_ key: String) throws -> [Int] {
        guard let v = raw(key) else { return [] }
        if let list = v as? [Any] {
            return try list.map {
                guard let i = $0 as? Int else { throw ModelConfigError.wrongType(path: path, key: key, expected: "an integer or a list of integers") }
                return i
            }
        }
        guard let i = v as? Int else { throw ModelConfigError.wrongType(path: path, key: key, expected: "an integer or a list of integers") }
        return [i]
    }

    mutating func ropeScaling(maxPositions: Int) throws -> RopeScaling? {
        guard let v = raw("rope_scaling") else { return nil }
        guard let d = v as? [String: Any] else {
            throw ModelConfigError.wrongType(path: path, key: "rope_scaling", expected: "an object or null")
        }
        let type = (d["rope_type"] as? String) ?? (d["type"] as? String) ?? ""
        func number(_ k: String, _ fallback: Double? = nil) throws -> Double {
            if let x = d[k] as? Double { return x }
            if let fallback { return fallback }
            throw ModelConfigError.missingKey(path: path, key: "rope_scaling.\(k)")
        }
        switch type {
        case "default":
            return nil
        case "linear":
            let factor = try number("factor")
            guard factor > 0 else { throw ModelConfigError.wrongType(path: path, key: "rope_scaling.factor", expected: "a positive number") }
            return .linear(factor: factor)
        case "llama3":
            let original = (d["original_max_position_embeddings"] as? Int) ?? maxPositions
            let low = try number("low_frequency_factor", 1), high = try number("high_frequency_factor", 4)
            guard high > low else {
                throw ModelConfigError.inconsistent(path: path, reason: "rope_scaling.high_frequency_factor must exceed low_frequency_factor")
            }
            return .llama3(factor: try number("factor"), lowFrequencyFactor: low, highFrequencyFactor: high,
                           originalMaxPositions: original)
        default:
            throw ModelConfigError.unsupportedValue(path: path, key: "rope_scaling.rope_type", value: type.isEmpty ? "(missing)" : type,
                                                    supported: "default, linear, llama3")
        }
    }
}
