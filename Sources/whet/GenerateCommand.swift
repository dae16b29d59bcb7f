import ArgumentParser
import Engine
import Foundation

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a prompt or a saved prompt file.",
        discussion: """
        The prompt goes to the model as is (with the beginning-of-sequence token) unless a chat
        template is chosen with --template or by the prompt file. --var NAME=VALUE fills {{NAME}} in
        a prompt file (and in --prompt when any --var is given). Flags win over the prompt file.
        """
    )

    @OptionGroup var output: OutputOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "Prompt text (with --prompt-file: replaces the file's template).")
    var prompt: String?
    @Option(name: .customLong("prompt-file"), help: "JSON prompt file: template, system, few-shot examples, variables, sampler settings (docs/generation.md).")
    var promptFile: String?
    @Option(name: .customLong("var"), help: "NAME=VALUE for a {{NAME}} placeholder; repeatable.")
    var variables: [String] = []
    @Option(help: "System prompt (chat templates fold it into the first user turn for Gemma).")
    var system: String?
    @Option(help: "Chat template: auto (the model's own Jinja template, else by architecture), jinja, gemma, chatml, llama3, or none (default: none, or the prompt file's).")
    var template: String?
    @Flag(help: "Print tokens to stdout as they are generated (with --json they go to stderr).")
    var stream = false
    @Option(name: .customLong("save-prompt-file"), help: "Write the effective prompt (template, variables, settings) to this JSON file.")
    var savePromptFile: String?
    @Flag(name: .customLong("dry-run"), help: "Print the prepared prompt (the text the model reads, its token ids, the stop sequences) and generate nothing.")
    var dryRun = false

    /// What `--dry-run` prints.
    struct PreparedReport: Encodable {
        let prompt: String
        let prompt_token_ids: [Int32]
        let stop_sequences: [String]
        let max_tokens: Int
    }

    mutating func run() throws {
        try reportingErrors {
            let overrides = try parseVariables(variables)
            var spec: PromptFile
            var substitute = true
            if let promptFile {
                spec = try PromptFile.load(from: URL(fileURLWithPath: (promptFile as NSString).expandingTildeInPath))
                if let prompt { spec.template = prompt }
            } else if let prompt {
                spec = PromptFile(template: prompt, chatTemplate: "none")
                substitute = !overrides.isEmpty
            } else {
                throw CommandFailure("no prompt: pass --prompt TEXT or --prompt-file FILE")
            }
            if let system { spec.system = system }
            if let template { spec.chatTemplate = template }
            if let maxTokens = sampling.maxTokens { spec.maxTokens = maxTokens }
            sampling.apply(to: &spec.sampler)
            spec.stop += sampling.stop
            spec.variables.merge(overrides) { $1 }
            try spec.validate(path: promptFile ?? "command line")

            let loaded = try modelOptions.open()
            let chat = try loaded.chatTemplate(named: spec.chatTemplate)
            // A literal --prompt (no --var): braces are text, not placeholders.
            let text = try spec.render(with: chat, substitutingVariables: substitute)
            if let savePromptFile {
                try spec.save(to: URL(fileURLWithPath: (savePromptFile as NSString).expandingTildeInPath))
                CommandOutput.progress("saved prompt file \(savePromptFile)")
            }
            let job = try loaded.prepare(.promptFile(spec, variables: [:], substitutingVariables: substitute), template: chat,
                                         sampler: spec.sampler, maxTokens: spec.maxTokens, stops: spec.stop).job
            if dryRun {
                let report = PreparedReport(prompt: text, prompt_token_ids: job.promptTokens, stop_sequences: job.stopSequences,
                                            max_tokens: job.maxTokens)
                if output.json {
                    try CommandOutput.printJSON(report)
                } else {
                    print(text)
                    CommandOutput.progress("\(job.promptTokens.count) prompt tokens: \(job.promptTokens.map(String.init).joined(separator: " "))")
                    CommandOutput.progress("stop sequences: \(job.stopSequences.isEmpty ? "(none)" : job.stopSequences.map { "\"\($0)\"" }.joined(separator: ", "))")
                }
                return
            }
            let toStdout = stream && !output.json
            let toStderr = stream && output.json
            let summary = try loaded.generator.generate(job) { event in
                switch event {
                case let .token(token):
                    if toStdout { writeStdout(token.text) }
                    if toStderr { FileHandle.standardError.write(Data(token.text.utf8)) }
                case let .text(piece):
                    if toStdout { writeStdout(piece) }
                    if toStderr { FileHandle.standardError.write(Data(piece.utf8)) }
                default: break
                }
                return .proceed
            }
            if output.json {
                if stream { CommandOutput.progress("") }
                try CommandOutput.printJSON(GenerationReport(summary))
            } else {
                if stream { writeStdout("\n") } else { print(summary.text) }
                CommandOutput.progress(statisticsLine(summary))
            }
        }
    }
}
