/// `phi3` GGUFs (Phi-3, Phi-3.5 mini): as llama with NEOX RoPE, Q/K/V fused in `attn_qkv` and gate/up
/// fused in `ffn_up` (gate rows first). llama.cpp disables Phi-3's sliding window (its GGUFs do not
/// say which layers use it), so all layers attend to the whole context here too. LongRoPE
/// factors (`rope_factors_long/short`, the 128k variants) are refused.
/// Hugging Face `phi3` stores the same fused `self_attn.qkv_proj` and `mlp.gate_up_proj`; transformers
/// applies its `sliding_window` to every layer, so the folder path does too (`longrope` is refused).
enum Phi3Architecture: DecoderArchitecture, HFDecoderArchitecture {
    static let name = "phi3"
    static let wiring = DecoderWiring(ropeLayout: .neox, activation: .silu, fusedQueryKeyValue: true, fusedGateUp: true)
    static let huggingFace = HFDecoderConventions(modelTypes: ["phi3"], className: "Phi3ForCausalLM",
                                                  slidingWindowOnEveryLayer: true)
}
