/// `qwen3` GGUFs: NEOX RoPE, per-head RMSNorm of queries and keys before it (`attn_q_norm`,
/// `attn_k_norm`), no Q/K/V biases, SwiGLU; the head width may differ from d_model / heads.
enum Qwen3Architecture: DecoderArchitecture, HFDecoderArchitecture {
    static let name = "qwen3"
    static let wiring = DecoderWiring(ropeLayout: .neox, activation: .silu, queryKeyNorms: true)
    /// Hugging Face `qwen3`: `self_attn.q_norm` / `k_norm` (plain weights), explicit `head_dim`.
    static let huggingFace = HFDecoderConventions(modelTypes: ["qwen3"], className: "Qwen3ForCausalLM", attentionBias: .configKey)
}
