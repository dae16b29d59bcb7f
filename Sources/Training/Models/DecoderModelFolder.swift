import Engine
import Foundation

/// Full fine-tuning: every weight of a `DecoderModel` trains.
extension DecoderModel: TrainableLanguageModel {
    public var trainableParameters: [Parameter] { parameters }

    /// Adapters and dropout do not apply to this model; the arguments are accepted and ignored.
    public func tokenLogProbs(_ g: Graph, batch: TokenBatch, adapters: Bool, dropoutSeed: UInt64?) throws -> Value {
        try g.targetLogProbs(logits: logits(g, tokens: batch.tokens, sequenceLength: batch.sequenceLength),
                             targets: batch.targets)
    }
}

/// A Llama-style `DecoderModel` as a Hugging Face folder: `config.json` (model_type llama),
/// `model.safetensors` (F32, Hugging Face tensor names) and `tokenizer.json` — what
/// `HFDecoderLoader` / `HFGenerationLoader` (Sources/Engine/Models/Llama.swift) open for generation.
public enum DecoderModelFolder {
    public enum Failure: Error, CustomStringConvertible {
        case unsupported(path: String, reason: String)

        public var description: String {
            switch self {
            case let .unsupported(path, reason): return "\(path): \(reason)"
            }
        }
    }

    /// Only configurations the Llama loader reads back exactly (SiLU, rotate-half RoPE, no embedding
    /// scale, full attention).
    public static func checkSavable(_ c: DecoderConfig) throws {
        guard c.activation == .silu, c.ropeStyle == .neox, !c.scalesEmbeddings, c.slidingWindow == nil else {
            throw RunError.invalidConfiguration("only Llama-style models (SiLU, rotate-half RoPE, no embedding scale, full attention) can be saved as a Hugging Face folder")
        }
    }

    public static func configJSON(_ c: DecoderConfig, maxPositions: Int, bos: Int?, eos: Int?) throws -> Data {
        var object: [String: Any] = [
            "model_type": "llama", "architectures": ["LlamaForCausalLM"],
            "hidden_size": c.hiddenSize, "num_hidden_layers": c.layers, "num_attention_heads": c.heads,
            "num_key_value_heads": c.kvHeads, "head_dim": c.headDim, "intermediate_size": c.intermediateSize,
            "vocab_size": c.vocabularySize, "max_position_embeddings": maxPositions, "rms_norm_eps": Double(c.normEps),
            "rope_theta": Double(c.ropeBase), "hidden_act": "silu", "tie_word_embeddings": c.tiedEmbeddings,
            "attention_bias": false, "mlp_bias": false, "torch_dtype": "float32",
        ]
        if let bos { object["bos_token_id"] = bos }
        if let eos { object["eos_token_id"] = eos }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes the folder (each file atomically). `tokenizerJSON` is copied in as tokenizer.json.
    public static func save(_ model: DecoderModel, to folder: URL, maxPositions: Int, tokenizerJSON: Data,
                            bos: Int?, eos: Int?) throws {
        try checkSavable(model.config)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafetensorsWriter()
        for p in model.parameters { writer.add(p.name, p.value) }
        writer.metadata = ["format": "pt"]
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        try configJSON(model.config, maxPositions: maxPositions, bos: bos, eos: eos)
            .write(to: folder.appendingPathComponent("config.json"), options: .atomic)
        try tokenizerJSON.write(to: folder.appendingPathComponent("tokenizer.json"), options: .atomic)
    }

    /// Opens a Llama-family folder (no biases) as a trainable `DecoderModel` in fp32, for full fine-tuning.
    public static func load(_ folder: URL) throws -> DecoderModel {
        let config = try HFModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        guard config.modelType == "llama", ["silu", "swish"].contains(config.hiddenAct), config.ropeScaling == nil,
              !config.attentionBias, !config.mlpBias else {
            throw Failure.unsupported(path: folder.path, reason:
                "full fine-tuning supports Llama-style folders without biases or rope_scaling (model_type llama, SiLU); this is \(config.modelType)")
        }
        let decoderConfig = DecoderConfig(vocabularySize: config.vocabSize, hiddenSize: config.hiddenSize,
                                          layers: config.numHiddenLayers, heads: config.numAttentionHeads,
                                          kvHeads: config.numKeyValueHeads, headDim: config.headDim,
                                          intermediateSize: config.intermediateSize, ropeBase: Float(config.ropeTheta),
                                          ropeStyle: .neox, normEps: Float(config.normEps), activation: .silu,
                                          tiedEmbeddings: config.tieWordEmbeddings, scalesEmbeddings: false)
        let weights = try SafetensorsWeights(folder: folder)
        var tensors: [String: Tensor] = [:]
        for name in weights.tensorNames { tensors[name] = try weights.floatTensor(name) }
        if config.tieWordEmbeddings { tensors["lm_head.weight"] = nil }
        return try DecoderModel(config: decoderConfig, weights: tensors)
    }

    /// A byte-level BPE tokenizer.json with no merges: one token per byte (ids 0–255, GPT-2's
    /// byte-to-character map) and `<|endoftext|>` (id 256) as beginning and end of text. It needs no
    /// training and covers any UTF-8 text, which suits a small model pretrained from scratch.
    public static func byteLevelTokenizerJSON() throws -> Data {
        var vocab: [String: Int] = [:]
        for (byte, scalar) in gpt2ByteToUnicode() { vocab[String(Character(scalar))] = Int(byte) }
        vocab["<|endoftext|>"] = 256
        let object: [String: Any] = [
            "version": "1.0",
            "added_tokens": [["id": 256, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": false, "special": true]],
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": ["type": "TemplateProcessing",
                               "single": [["SpecialToken": ["id": "<|endoftext|>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                               "pair": [["Sequence": ["id": "A", "type_id": 0]], ["Sequence": ["id": "B", "type_id": 1]]],
                               "special_tokens": ["<|endoftext|>": ["id": "<|endoftext|>", "ids": [256], "tokens": ["<|endoftext|>"]]]],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "vocab": vocab, "merges": [String]()],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// GPT-2's reversible byte → printable character map.
    static func gpt2ByteToUnicode() -> [(UInt8, Unicode.Scalar)] {
        let printable = Set(Array(33...126) + Array(161...172) + Array(174...255))
        var out: [(UInt8, Unicode.Scalar)] = []
        var extra = 0
        for b in 0..<256 {
            if printable.contains(b) {
                out.append((UInt8(b), Unicode.Scalar(UInt32(b)) ?? " "))
            } else {
                out.append((UInt8(b), Unicode.Scalar(UInt32(256 + extra)) ?? " "))
                extra += 1
            }
        }
        return out
    }
}
