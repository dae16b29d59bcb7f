import ArgumentParser
import Engine
import Foundation

/// Sampler and stop flags shared by `whet generate` and `whet chat`. A flag given on the command
/// line wins over the prompt file's value, which wins over the defaults (llama.cpp's).
struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate (default 256, or the prompt file's).")
    var maxTokens: Int?
    @Option(help: "Sampling temperature; 0 is greedy (default 0.8).")
    var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens; 0 = off (default 40).")
    var topK: Int?
    @Option(name: .customLong("top-p"), help: "Keep the smallest set of tokens reaching this probability; 1 = off (default 0.95).")
    var topP: Float?
    @Option(name: .customLong("min-p"), help: "Drop tokens below this fraction of the top token's probability; 0 = off (default 0.05).")
    var minP: Float?
    @Option(name: .customLong("repeat-penalty"), help: "Penalty on tokens in the look-back window; 1 = off (default 1.0).")
    var repeatPenalty: Float?
    @Option(name: .customLong("repeat-last-n"), help: "Look-back window of the penalties; 0 = off, -1 = whole context (default 64).")
    var repeatLastN: Int?
    @Option(name: .customLong("presence-penalty"), help: "Subtracted from tokens present in the window (default 0).")
    var presencePenalty: Float?
    @Option(name: .customLong("frequency-penalty"), help: "Subtracted per occurrence in the window (default 0).")
    var frequencyPenalty: Float?
    @Option(help: "Seed: the same seed and settings repeat the output (default: a fresh seed, reported).")
    var seed: UInt64?
    @Option(help: "Stop when this text appears (not included in the output); repeatable.")
    var stop: [String] = []

    func apply(to settings: inout SamplerSettings) {
        if let temperature { settings.temperature = temperature }
        if let topK { settings.topK = topK }
        if let topP { settings.topP = topP }
        if let minP { settings.minP = minP }
        if let repeatPenalty { settings.repeatPenalty = repeatPenalty }
        if let repeatLastN { settings.repeatLastN = repeatLastN }
        if let presencePenalty { settings.presencePenalty = presencePenalty }
        if let frequencyPenalty { settings.frequencyPenalty = frequencyPenalty }
        if let seed { settings.seed = seed }
    }
}

/// Model choice and resources shared by the generating commands.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model: a path to a .gguf file or a Hugging Face folder, or the name of an installed model.")
    var model: String = ModelLocator.defaultModelName
    @Option(name: .customLong("ctx-size"), help: "Most positions the cache may hold (default: the model's context; the cache grows as it fills).")
    var contextSize: Int?
    @Option(help: "Worker threads for the model's kernels (default: all cores).")
    var threads: Int?
    @Option(help: "A LoRA adapter folder in PEFT layout (adapter_config.json + adapter_model.safetensors, e.g. from `whet train lora`), merged into the model's weights at load.")
    var adapter: String?

    func open() throws -> LoadedTextModel {
        if let threads {
            guard threads > 0 else { throw CommandFailure("--threads must be at least 1") }
            Parallel.limitLanes(to: threads)
        }
        if let contextSize, contextSize < 16 { throw CommandFailure("--ctx-size must be at least 16") }
        let url = try ModelLocator.locate(model)
        return try LoadedTextModel.open(url, contextLength: contextSize, adapter: adapter.map { URL(fileURLWithPath: $0) })
    }
}

/// Parses `--var name=value` flags.
func parseVariables(_ flags: [String]) throws -> [String: String] {
    var values: [String: String] = [:]
    for flag in flags {
        guard let eq = flag.firstIndex(of: "="), eq != flag.startIndex else {
            throw CommandFailure("--var '\(flag)' is not NAME=VALUE; write e.g. --var topic=tides")
        }
        values[String(flag[..<eq])] = String(flag[flag.index(after: eq)...])
    }
    return values
}

/// The JSON `whet generate` prints (names from the command-line contract in DESIGN.md).
struct GenerationReport: Encodable {
    let text: String
    let token_ids: [Int32]
    let prompt_tokens: Int
    let prompt_tokens_processed: Int
    let generated_tokens: Int
    let stop_reason: String
    let stop_sequence: String?
    let prompt_tokens_per_second: Double
    let tokens_per_second: Double
    let seed: UInt64

    init(_ s: GenerationSummary) {
        text = s.text
        token_ids = s.tokenIds
        prompt_tokens = s.prompt.promptTokens
        prompt_tokens_processed = s.prompt.processedTokens
        generated_tokens = s.generatedTokens
        stop_reason = s.stopReason.rawValue
        stop_sequence = s.stopSequence
        prompt_tokens_per_second = s.prompt.tokensPerSecond
        tokens_per_second = s.tokensPerSecond
        seed = s.seed
    }
}

/// Writes text to stdout at once (no buffering), for streamed tokens.
func writeStdout(_ text: String) {
    guard !text.isEmpty else { return }
    FileHandle.standardOutput.write(Data(text.utf8))
}

func statisticsLine(_ s: GenerationSummary) -> String {
    func f(_ x: Double) -> String { String(format: "%.1f", x) }
    let reused = s.prompt.reusedTokens > 0 ? " (\(s.prompt.reusedTokens) reused from the cache)" : ""
    return "prompt: \(s.prompt.promptTokens) tokens, \(s.prompt.processedTokens) processed\(reused), \(f(s.prompt.tokensPerSecond)) t/s"
        + " | generated: \(s.generatedTokens) tokens, \(f(s.tokensPerSecond)) t/s | stop: \(s.stopReason.rawValue) | seed \(s.seed)"
}
