/// `llama` GGUFs (Llama 2/3.x, Mistral, SmolLM, TinyLlama): pre-norm blocks, RoPE in llama.cpp's
/// NORM layout (adjacent pairs), Llama 3's `rope_freqs` factors when present, SwiGLU, Q/K/V biases
/// only when a file has them, `output.weight` or logits tied to the token embedding.
enum LlamaArchitecture: DecoderArchitecture {
    static let name = "llama"
    static let wiring = DecoderWiring(ropeLayout: .normal, activation: .silu, readsRopeFrequencyFactors: true)
}
