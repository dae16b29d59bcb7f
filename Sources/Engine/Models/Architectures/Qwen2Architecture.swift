/// `qwen2` GGUFs (Qwen2, Qwen2.5): as llama with Q/K/V biases (required) and NEOX RoPE (pairs i, i + d/2).
enum Qwen2Architecture: DecoderArchitecture {
    static let name = "qwen2"
    static let wiring = DecoderWiring(ropeLayout: .neox, activation: .silu, requiresAttentionBiases: true)
}
