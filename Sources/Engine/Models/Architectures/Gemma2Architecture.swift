/// `gemma2` GGUFs: Gemma's pre- and post-norms around both sublayers, the embedding × √d_model,
/// GeGLU (tanh GELU), NEOX RoPE, sliding-window attention in every other layer (layer 0 local;
/// `attention.sliding_window`, default 4096), attention scores and final logits soft-capped
/// (`attn_logit_softcapping` 50, `final_logit_softcapping` 30), logits tied to the embedding.
/// Hugging Face `gemma2`: norms stored as w (RMSNorm × (1 + w)), `query_pre_attn_scalar`,
/// `attn_logit_softcapping` / `final_logit_softcapping` (null: none), `layer_types` or pattern 2.
enum Gemma2Architecture: DecoderArchitecture, HFDecoderArchitecture {
    static let name = "gemma2"
    static let wiring = DecoderWiring(ropeLayout: .neox, activation: .geluTanh, gemmaNorms: true,
                                      slidingWindowPattern: 2, softcapping: true)
    static let huggingFace = HFDecoderConventions(modelTypes: ["gemma2"], className: "Gemma2ForCausalLM", tiedByDefault: true)
}
