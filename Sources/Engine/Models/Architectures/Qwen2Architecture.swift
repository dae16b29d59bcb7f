/// `qwen2` GGUFs (Qwen2, Qwen2.5): as llama with Q/K/V biases (required) and NEOX RoPE (pairs i, i + d/2).
enum Qwen2Architecture: DecoderArchitecture, HFDecoderArchitecture {
    static let name = "qwen2"
    static let wiring = DecoderWiring(ropeLayout: .neox, activation: .silu, requiresAttentionBiases: true)
    /// Hugging Face `qwen2`: q/k/v biases always (o_proj has none); sliding layers only as `layer_types` names them.
    static let huggingFace = HFDecoderConventions(modelTypes: ["qwen2"], className: "Qwen2ForCausalLM", attentionBias: .always)
}
