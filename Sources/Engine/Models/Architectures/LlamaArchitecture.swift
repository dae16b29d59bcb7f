/// `llama` GGUFs (Llama 2/3.x, Mistral, SmolLM, TinyLlama): pre-norm blocks, RoPE in llama.cpp's
/// NORM layout (adjacent pairs), Llama 3's `rope_freqs` factors when present, SwiGLU, Q/K/V biases
/// only when a file has them, `output.weight` or logits tied to the token embedding.
/// Hugging Face folders (`llama`, `mistral`): q/k rows as transformers stores them (RoPE on halves,
/// NEOX; llama.cpp's converter permutes them for NORM), `attention_bias`, `rope_scaling` linear or
/// llama3 (turned into the per-pair factors `rope_freqs` holds), Mistral's `sliding_window` on every layer.
enum LlamaArchitecture: DecoderArchitecture, HFDecoderArchitecture {
    static let name = "llama"
    static let wiring = DecoderWiring(ropeLayout: .normal, activation: .silu, readsRopeFrequencyFactors: true)
    static let huggingFace = HFDecoderConventions(modelTypes: ["llama", "mistral"], className: "LlamaForCausalLM",
                                                  attentionBias: .configKey, slidingWindowOnEveryLayer: true)
}
