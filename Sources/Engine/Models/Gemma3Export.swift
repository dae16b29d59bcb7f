import Foundation

/// What `Gemma3Model.exportHuggingFace` wrote.
public struct HuggingFaceExport: Sendable, Equatable {
    public var folder: URL
    public var tensors: Int
    public var parameters: Int
    public var bytes: Int
}

extension Gemma3Model {
    /// The weights under Hugging Face `Gemma3ForCausalLM` names, dequantized to fp32 (with any
    /// merged LoRA deltas already in them). Norm weights lose the "+1" that GGUF files fold in
    /// (Hugging Face's Gemma RMSNorm multiplies by `1 + weight`). The output head is tied to the
    /// embedding, so there is no `lm_head.weight`.
    public func huggingFaceTensors() -> [(name: String, tensor: Tensor)] {
        func norm(_ t: Tensor) -> Tensor {
            let out = Tensor(shape: t.shape)
            let src = t.contiguous()
            for i in 0..<src.count { out.basePointer[i] = src.basePointer[i] - 1 }
            return out
        }
        var list: [(String, Tensor)] = [("model.embed_tokens.weight", tokenEmbedding.dequantized())]
        for (i, b) in blocks.enumerated() {
            let p = "model.layers.\(i)."
            list += [
                (p + "input_layernorm.weight", norm(b.attentionNorm)),
                (p + "self_attn.q_proj.weight", b.query.dequantized()),
                (p + "self_attn.k_proj.weight", b.key.dequantized()),
                (p + "self_attn.v_proj.weight", b.value.dequantized()),
                (p + "self_attn.q_norm.weight", norm(b.queryNorm)),
                (p + "self_attn.k_norm.weight", norm(b.keyNorm)),
                (p + "self_attn.o_proj.weight", b.output.dequantized()),
                (p + "post_attention_layernorm.weight", norm(b.postAttentionNorm)),
                (p + "pre_feedforward_layernorm.weight", norm(b.feedForwardNorm)),
                (p + "mlp.gate_proj.weight", b.gate.dequantized()),
                (p + "mlp.up_proj.weight", b.up.dequantized()),
                (p + "mlp.down_proj.weight", b.down.dequantized()),
                (p + "post_feedforward_layernorm.weight", norm(b.postFeedForwardNorm)),
            ]
        }
        list.append(("model.norm.weight", norm(outputNorm)))
        return list
    }

    /// Hugging Face `config.json` of this model (`gemma3_text`).
    public func huggingFaceConfig(dtype: SafetensorsWriter.DType, bos: Int32?, eos: Int32?, pad: Int32?) -> [String: Any] {
        let hp = hyperparameters
        let layerTypes = (0..<hp.layerCount).map { hp.usesSlidingWindow(layer: $0) ? "sliding_attention" : "full_attention" }
        var config: [String: Any] = [
            "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text",
            "vocab_size": hp.vocabularySize, "hidden_size": hp.embeddingLength, "intermediate_size": hp.feedForwardLength,
            "num_hidden_layers": hp.layerCount, "num_attention_heads": hp.headCount, "num_key_value_heads": hp.kvHeadCount,
            "head_dim": hp.keyLength, "rms_norm_eps": Double(hp.rmsEpsilon),
            "rope_theta": Double(hp.globalRopeBase), "rope_local_base_freq": Double(hp.localRopeBase), "rope_scaling": NSNull(),
            "sliding_window": hp.slidingWindow, "sliding_window_pattern": hp.slidingWindowPattern, "layer_types": layerTypes,
            "max_position_embeddings": hp.contextLength,
            "query_pre_attn_scalar": Double(1 / (hp.attentionScale * hp.attentionScale)).rounded(),
            "hidden_activation": "gelu_pytorch_tanh", "tie_word_embeddings": true, "attention_bias": false,
            "attention_dropout": 0, "final_logit_softcapping": NSNull(), "attn_logit_softcapping": NSNull(),
            "torch_dtype": dtype == .f32 ? "float32" : dtype == .f16 ? "float16" : "bfloat16",
        ]
        if let bos { config["bos_token_id"] = Int(bos) }
        if let eos { config["eos_token_id"] = Int(eos) }
        if let pad { config["pad_token_id"] = Int(pad) }
        return config
    }

    /// Writes `model.safetensors` and `config.json` (each atomically) into `folder`.
    @discardableResult
    public func exportHuggingFace(to folder: URL, dtype: SafetensorsWriter.DType = .bf16, bos: Int32? = nil, eos: Int32? = nil,
                                  pad: Int32? = nil) throws -> HuggingFaceExport {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafetensorsWriter()
        var parameters = 0
        let tensors = huggingFaceTensors()
        for (name, tensor) in tensors {
            writer.add(name, tensor, as: dtype)
            parameters += tensor.count
        }
        writer.metadata = ["format": "pt", "exported_by": "whetstone"]
        let weights = folder.appendingPathComponent("model.safetensors")
        try writer.write(to: weights)
        let config = huggingFaceConfig(dtype: dtype, bos: bos, eos: eos, pad: pad)
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: folder.appendingPathComponent("config.json"), options: .atomic)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? Int) ?? 0
        return HuggingFaceExport(folder: folder, tensors: tensors.count, parameters: parameters, bytes: bytes ?? 0)
    }
}

/// Model export entry points for the command line and the Deploy pane.
public enum ModelExport {
    /// Opens a Gemma 3 GGUF, merges `adapter` (PEFT LoRA) when given, and writes Hugging Face
    /// safetensors + config.json into `folder`.
    public static func mergedHuggingFace(model url: URL, adapter: URL?, to folder: URL,
                                         dtype: SafetensorsWriter.DType = .bf16) throws -> HuggingFaceExport {
        let model = try Gemma3Model.open(url, adapter: adapter, purpose: "merged export")
        let tokenizer = try SentencePieceTokenizer(gguf: model.file)
        return try model.exportHuggingFace(to: folder, dtype: dtype, bos: tokenizer.bosID, eos: tokenizer.eosID,
                                           pad: tokenizer.padID)
    }
}
