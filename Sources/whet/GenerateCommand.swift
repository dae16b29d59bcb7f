import ArgumentParser
import Engine
import Foundation

/// `whet generate`: a greedy continuation of a prompt.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with the model (greedy: the most likely token each step).",
        discussion: "The prompt gets BOS first and special tokens such as <start_of_turn> are recognised, as llama.cpp does."
    )

    @Option(name: .long, help: "Model file, folder or installed name.")
    var model: String = ModelLocator.defaultModelName
    @Option(name: .long, help: "The prompt text.")
    var prompt: String
    @Option(name: .long, help: "Most tokens to generate.")
    var maxTokens: Int = 128
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        let text: String
        let token_ids: [Int32]
        let prompt_tokens: Int
        let generated_tokens: Int
        let stop_reason: String
        let prompt_tokens_per_second: Double
        let tokens_per_second: Double
    }

    func run() throws {
        try reportingErrors {
            guard maxTokens >= 0 else { throw CommandFailure("--max-tokens must be 0 or more") }
            let url = try ModelLocator.locate(model)
            let gemma = try Gemma3Model(path: url.path)
            let tokenizer = try SentencePieceTokenizer(gguf: gemma.file)
            let ids = tokenizer.encode(prompt, addBOS: true, parseSpecial: true)
            let session = gemma.makeSession(contextLength: min(gemma.hyperparameters.contextLength, ids.count + maxTokens + 1))
            let stops = tokenizer.endOfGenerationIDs
            var streamed: [Int32] = []
            var printed = ""
            let result = try session.generateGreedy(prompt: ids, maxTokens: maxTokens, stopTokens: stops) { token in
                guard !output.json else { return }
                // Print only whole characters: a byte-fallback token may carry part of one.
                streamed.append(token)
                let text = tokenizer.decode(streamed)
                if !text.hasSuffix("\u{FFFD}"), text.hasPrefix(printed) {
                    FileHandle.standardOutput.write(Data(text.dropFirst(printed.count).utf8))
                    printed = text
                }
            }
            let text = tokenizer.decode(result.tokenIds)
            let report = Report(text: text, token_ids: result.tokenIds, prompt_tokens: ids.count,
                                generated_tokens: result.tokenIds.count, stop_reason: result.stopReason.rawValue,
                                prompt_tokens_per_second: result.promptSeconds > 0 ? Double(result.promptTokensProcessed) / result.promptSeconds : 0,
                                tokens_per_second: result.generationSeconds > 0 ? Double(result.tokenIds.count) / result.generationSeconds : 0)
            if output.json {
                try CommandOutput.printJSON(report)
            } else {
                if text.hasPrefix(printed) { FileHandle.standardOutput.write(Data(text.dropFirst(printed.count).utf8)) }
                print("")
                CommandOutput.progress(String(format: "[%d prompt tokens, %.1f t/s; %d generated, %.1f t/s; %@]",
                                              report.prompt_tokens, report.prompt_tokens_per_second, report.generated_tokens,
                                              report.tokens_per_second, report.stop_reason))
            }
        }
    }
}
