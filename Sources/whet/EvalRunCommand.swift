import ArgumentParser
import Engine
import Evaluation
import Foundation

extension EvalCommand {
    /// `whet eval run`: generate an answer for every example with one configuration, then score it.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Generate an answer for every example of a dataset and score it (ROUGE, BLEU, chrF, exact match).",
            discussion: """
            DATA.jsonl lines: {"id"?, "prompt", "reference"} ("references": [...] or "completion" work too), \
            {"instruction", "input"?, "output"}, or {"messages": [...]} ending with the assistant's reference. \
            The prompt sent to the model is --prompt-file's template (default "{{prompt}}") with every \
            string field of the line as a {{variable}}, in the chosen chat template (default: the \
            model's, or the prompt file's). Sampling defaults to greedy so runs repeat; flags win over \
            the prompt file. Each answer is appended to OUT/predictions.jsonl as soon as it is scored \
            (a valid `whet eval text` input); OUT/report.json gets the scores at the end. --resume OUT \
            continues an interrupted run without generating finished examples again.
            """
        )

        @Option(name: .long, help: "Dataset (JSONL).")
        var data: String
        @Option(name: .long, help: "Run folder for predictions.jsonl and report.json (default runs/eval-DATE-TIME).")
        var out: String?
        @Option(name: .long, help: "Continue the interrupted run in this folder (same data and prompt).")
        var resume: String?
        @OptionGroup var modelOptions: ModelOptions
        @OptionGroup var sampling: SamplingOptions
        @Option(name: .customLong("prompt-file"), help: "JSON prompt file (template, system, few-shot examples, sampler; docs/generation.md).")
        var promptFile: String?
        @Option(help: "Prompt template with {{variables}} from each line (default \"{{prompt}}\").")
        var prompt: String?
        @Option(help: "System prompt.")
        var system: String?
        @Option(help: "Chat template: auto (the model's own Jinja template, else by architecture), jinja, gemma, chatml, llama3, or none (default auto).")
        var template: String?
        @Option(name: .long, help: "Comma-separated metrics: rouge1,rouge2,rougeL,rougeLsum,bleu,chrf,exact_match (default: all).")
        var metrics: String?
        @Flag(name: .long, help: "Porter-stem ROUGE tokens (rouge-score use_stemmer=True).")
        var stem = false
        @Option(name: .long, help: "Exact-match normalisation: none, trim (default) or squad.")
        var normalize: String = ExactMatch.Normalization.trim.rawValue
        @Option(name: .long, help: "On a malformed line: stop (default; examples before it are run and kept) or skip.")
        var onError: String = EvalLinePolicy.stop.rawValue
        @OptionGroup var output: OutputOptions

        func run() throws {
            try reportingErrors {
                let folder: URL
                var spec: PromptFile
                if let resume {
                    folder = URL(fileURLWithPath: (resume as NSString).expandingTildeInPath)
                    let configURL = folder.appendingPathComponent(EvalRun.promptFileName)
                    guard FileManager.default.fileExists(atPath: configURL.path) else {
                        throw CommandFailure("\(folder.path) holds no eval run (no prompt.json); pass the folder an earlier `whet eval run` wrote")
                    }
                    spec = try PromptFile.load(from: configURL)
                } else {
                    if let promptFile {
                        spec = try PromptFile.load(from: URL(fileURLWithPath: (promptFile as NSString).expandingTildeInPath))
                    } else {
                        spec = EvalRun.defaultPrompt
                    }
                    if let prompt { spec.template = prompt }
                    if let system { spec.system = system }
                    if let template { spec.chatTemplate = template }
                    if let maxTokens = sampling.maxTokens { spec.maxTokens = maxTokens }
                    sampling.apply(to: &spec.sampler)
                    spec.stop += sampling.stop
                    try spec.validate(path: promptFile ?? "command line")
                    let stamp = Self.stamp.string(from: Date())
                    folder = URL(fileURLWithPath: (out.map { ($0 as NSString).expandingTildeInPath }) ?? "runs/eval-\(stamp)")
                    try EvalRun.prepareFolder(folder, prompt: spec)
                }
                let chosen = try metrics.map(TextMetric.parseList) ?? TextMetric.defaults
                guard let normalization = ExactMatch.Normalization(rawValue: normalize) else {
                    throw CommandFailure("unknown --normalize \"\(normalize)\"; use none, trim or squad")
                }
                guard let policy = EvalLinePolicy(rawValue: onError) else {
                    throw CommandFailure("unknown --on-error \"\(onError)\"; use stop or skip")
                }
                let evaluation = TextEvaluation(metrics: chosen, useStemmer: stem, exactMatch: ExactMatch(normalization: normalization),
                                                onMalformedLine: policy)
                let loaded = try modelOptions.open()
                let run = try EvalRun(model: loaded, dataPath: (data as NSString).expandingTildeInPath, prompt: spec,
                                  evaluation: evaluation, outputFolder: folder)
                let bar = ProgressLine("eval run")
                var resumed = 0
                let report = try run.run { event in
                    switch event {
                    case let .started(total, already):
                        resumed = already
                        if already > 0 { CommandOutput.progress("resuming: \(already) of \(total) example(s) already done") }
                        bar.update(already, of: total)
                    case let .scored(row, _, done, total):
                        bar.update(done, of: total, detail: "\(row.generatedTokens) tok")
                    case let .skipped(problem):
                        bar.note("whet: skipped \(problem)")
                    case .finished, .failed:
                        break
                    }
                }
                bar.finish()
                if output.json {
                    try CommandOutput.printJSON(RunReport(folder: folder.path, predictions: run.predictionsURL.path,
                                                          resumed: resumed, report: report))
                } else {
                    print(EvalCommand.Text.table(report))
                    print("predictions: \(run.predictionsURL.path)\nreport: \(run.reportURL.path)")
                }
                if let problem = report.stoppedAt {
                    CommandOutput.progress("whet: \(problem); fix the line or pass --on-error skip "
                                           + "(the \(report.examples.count) example(s) before it are kept in \(run.predictionsURL.path))")
                    throw ExitCode.failure
                }
            }
        }

        struct RunReport: Encodable {
            let folder: String
            let predictions: String
            let resumed: Int
            let report: TextEvaluationReport
        }

        static let stamp: DateFormatter = {
            let f = DateFormatter()
            f.dateFormat = "yyyyMMdd-HHmmss"
            f.locale = Locale(identifier: "en_US_POSIX")
            return f
        }()
    }
}
