import ArgumentParser
import Engine
import Evaluation
import Foundation

extension EvalCommand {
    /// `whet eval choice`: multiple-choice accuracy as lm-evaluation-harness scores MMLU.
    struct Choice: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "choice",
            abstract: "Multiple-choice accuracy of a model (MMLU / C-Eval / CMMLU style), scored by log-likelihood.",
            discussion: """
            Each question becomes a k-shot prompt as lm-evaluation-harness builds it for MMLU ("The \
            following are multiple choice questions (with answers) about SUBJECT." then solved \
            examples, then the question and "Answer:"); the model's log-likelihood of " A", " B", … \
            picks the answer (acc), and divided by the choice's length (acc_norm). Examples come from \
            --dev, else from the `_dev` file beside a `_test`/`_val` file, else from the evaluated file \
            itself (a question is never its own example). DATA is MMLU CSV (question,A,B,C,D,answer), \
            C-Eval / CMMLU CSV with a header, or JSONL (see docs/evaluation.md).
            """
        )

        @OptionGroup var modelOptions: ModelOptions
        @Option(name: .long, help: "Questions: .csv or .jsonl.")
        var data: String
        @Option(name: .long, help: "File of solved examples for the k-shot prompt (default: the _dev file beside DATA).")
        var dev: String?
        @Option(name: .long, help: "Number of solved examples before each question.")
        var shots: Int = 5
        @Option(name: .long, help: "Prompt style: mmlu (English) or ceval (Chinese).")
        var style: String = MultipleChoicePrompt.Style.mmlu.rawValue
        @Option(name: .long, help: "Score only the first N questions.")
        var limit: Int?
        @Option(name: .long, help: "On a malformed line: stop (default; questions before it are scored and reported) or skip.")
        var onError: String = EvalLinePolicy.stop.rawValue
        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            let file: String
            let model: String
            let shots: Int
            let style: String
            let n: Int
            let accuracy: Double
            let accuracy_norm: Double
            let by_subject: [String: MultipleChoiceSummary.Group]
            let complete: Bool
            let skipped: [String]
            let stopped_at: String?
            let examples: [MultipleChoiceOutcome]
            let seconds: Double
        }

        func run() throws {
            try reportingErrors {
                guard shots >= 0 else { throw CommandFailure("--shots must be 0 or more") }
                if let limit, limit < 1 { throw CommandFailure("--limit must be 1 or more") }
                guard let promptStyle = MultipleChoicePrompt.Style(rawValue: style) else {
                    throw CommandFailure("unknown --style \"\(style)\"; use mmlu or ceval")
                }
                guard let policy = EvalLinePolicy(rawValue: onError) else {
                    throw CommandFailure("unknown --on-error \"\(onError)\"; use stop or skip")
                }
                let path = (data as NSString).expandingTildeInPath
                // Read everything, then decide: under `stop` the questions before the first bad line
                // are still scored and reported.
                let set = try MultipleChoiceSet.load(path: path, onMalformed: .skip)
                var questions = set.questions
                var stoppedAt: LineProblem?
                if policy == .stop, let first = set.skipped.first {
                    stoppedAt = first
                    questions = questions.filter { $0.line < first.line }
                }
                for problem in set.skipped where policy == .skip {
                    CommandOutput.progress("whet: skipped \(problem)")
                }
                if let limit { questions = Array(questions.prefix(limit)) }
                let devPath = dev.map { ($0 as NSString).expandingTildeInPath } ?? MultipleChoiceSet.devFile(besides: path)
                let pool = try devPath.map { try MultipleChoiceSet.load(path: $0, onMalformed: .skip).questions }

                let loaded = try modelOptions.open()
                let evaluation = MultipleChoiceEvaluation(prompt: MultipleChoicePrompt(style: promptStyle), shots: shots,
                                                          addBeginningOfSequence: loaded.addsBeginningOfSequence)
                let bar = ProgressLine("eval choice")
                let started = Date()
                let result: (outcomes: [MultipleChoiceOutcome], cancelled: Bool)
                if questions.isEmpty {
                    result = ([], false)
                } else {
                    result = try evaluation.evaluate(questions: questions, fewShotPool: pool, generator: loaded.generator) { p in
                        bar.update(p.done, of: p.total, detail: String(format: "acc %.3f", p.accuracy))
                        return .proceed
                    }
                }
                bar.finish()
                let summary = MultipleChoiceScoring.summary(result.outcomes)
                let report = Report(file: path, model: loaded.url.lastPathComponent, shots: shots, style: promptStyle.rawValue,
                                    n: summary.overall.n, accuracy: summary.overall.accuracy,
                                    accuracy_norm: summary.overall.accuracyNormalized, by_subject: summary.bySubject,
                                    complete: stoppedAt == nil, skipped: policy == .skip ? set.skipped.map(\.description) : [],
                                    stopped_at: stoppedAt?.description, examples: result.outcomes,
                                    seconds: Date().timeIntervalSince(started))
                if output.json {
                    try CommandOutput.printJSON(report)
                } else {
                    print(Self.table(report))
                }
                if let stoppedAt {
                    CommandOutput.progress("whet: \(stoppedAt); fix the line or pass --on-error skip "
                                           + "(the \(result.outcomes.count) question(s) before it are scored above)")
                    throw ExitCode.failure
                }
            }
        }

        static func table(_ report: Report) -> String {
            var out: [String] = []
            out.append(String(format: "accuracy %.4f  acc_norm %.4f  over %d question(s), %d-shot, %@ prompt",
                              report.accuracy, report.accuracy_norm, report.n, report.shots, report.style))
            if report.by_subject.count > 1 {
                for subject in report.by_subject.keys.sorted() {
                    guard let g = report.by_subject[subject] else { continue }
                    out.append(String(format: "  %@  %.4f  (%d)", subject.isEmpty ? "(none)" : subject, g.accuracy, g.n))
                }
            }
            for e in report.examples {
                let letters = e.logLikelihoods.indices.map { String(UnicodeScalar(UInt8(65 + min($0, 25)))) }
                out.append("  line \(e.line): predicted \(letters[e.predicted]), answer \(letters[e.answer])"
                           + (e.correct ? "  ✓" : "  ✗"))
            }
            return out.joined(separator: "\n")
        }
    }
}
