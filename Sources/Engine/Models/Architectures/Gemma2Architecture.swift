/// `gemma2` GGUFs: Gemma's pre- and post-norms around both sublayers, the embedding × √d_model,
/// GeGLU (tanh GELU), NEOX RoPE, sliding-window attention in every other layer (layer 0 local;
/// `attention.sliding_window`, default 4096), attention scores and final logits soft-capped
/// (`attn_logit_softcapping` 50, `final_logit_softcapping` 30), logits tied to the embedding.
enum Gemma2Architecture: DecoderArchitecture {
    static let name = "gemma2"
    static let wiring = DecoderWiring(ropeLayout: .neox, activation: .geluTanh, gemmaNorms: true,
                                      slidingWindowPattern: 2, softcapping: true)
}
