import ArgumentParser
import Engine
import Evaluation
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate: text metrics (ROUGE, BLEU, chrF, exact match) and multiple-choice accuracy.",
        subcommands: [Text.self, Choice.self, Run.self]
    )

    struct Text: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "text",
            abstract: "Score prediction/reference pairs with ROUGE, BLEU, chrF and exact match.",
            discussion: """
            PAIRS.jsonl holds one {"id"?, "prediction", "reference"} object a line ("references": [...]
            for several). ROUGE matches
            rouge-score 0.1.2, BLEU and chrF match sacreBLEU \(SacreBLEU.compatibleVersion) (see docs/evaluation.md).
            Per-pair BLEU is sacrebleu.sentence_bleu; corpus BLEU and chrF are corpus_bleu / corpus_chrf;
            corpus ROUGE and exact match are means over the pairs.
            """
        )

        @Option(name: .long, help: "JSONL file of {\"id\"?, \"prediction\", \"reference\" or \"references\"} lines.")
        var data: String

        @Option(name: .long, help: "Comma-separated metrics: rouge1,rouge2,rougeL,rougeLsum,bleu,chrf,exact_match (default: all).")
        var metrics: String?

        @Flag(name: .long, help: "Porter-stem ROUGE tokens longer than 3 characters (rouge-score use_stemmer=True).")
        var stem = false

        @Option(name: .long, help: "BLEU tokenizer: 13a (default), zh or none.")
        var bleuTokenize: String = BLEUTokenizer.thirteenA.rawValue

        @Option(name: .long, help: "Exact-match normalisation: none (default), trim or squad.")
        var normalize: String = ExactMatch.Normalization.none.rawValue

        @Option(name: .long, help: "On a malformed line: stop (default; pairs scored so far are still reported) or skip.")
        var onError: String = EvalLinePolicy.stop.rawValue

        @OptionGroup var output: OutputOptions

        func run() throws {
            try reportingErrors {
                let chosen = try metrics.map(TextMetric.parseList) ?? TextMetric.defaults
                guard let tokenizer = BLEUTokenizer(rawValue: bleuTokenize) else {
                    throw CommandFailure("unknown --bleu-tokenize \"\(bleuTokenize)\"; use 13a, zh or none")
                }
                guard let normalization = ExactMatch.Normalization(rawValue: normalize) else {
                    throw CommandFailure("unknown --normalize \"\(normalize)\"; use none, trim or squad")
                }
                guard let policy = EvalLinePolicy(rawValue: onError) else {
                    throw CommandFailure("unknown --on-error \"\(onError)\"; use stop or skip")
                }
                let evaluation = TextEvaluation(metrics: chosen, useStemmer: stem, bleuTokenizer: tokenizer,
                                                exactMatch: ExactMatch(normalization: normalization),
                                                onMalformedLine: policy)
                let report = try evaluation.evaluate(file: data)
                for problem in report.skipped {
                    CommandOutput.progress("whet: skipped \(problem)")
                }
                if report.examples.isEmpty && report.stoppedAt == nil {
                    throw CommandFailure("\(data) has no pairs to score; each line must be {\"prediction\", \"reference\"}")
                }
                if output.json {
                    try CommandOutput.printJSON(report)
                } else {
                    print(Self.table(report))
                }
                if let problem = report.stoppedAt {
                    CommandOutput.progress("whet: \(problem); fix the line or pass --on-error skip "
                                           + "(the \(report.examples.count) pair(s) scored before it are reported)")
                    throw ExitCode.failure
                }
            }
        }

        static func table(_ report: TextEvaluationReport) -> String {
            var headers = ["id"]
            for metric in report.metrics {
                switch metric {
                case .rouge1, .rouge2, .rougeL, .rougeLsum: headers.append("\(metric.rawValue) F")
                case .bleu: headers.append("BLEU")
                case .chrf: headers.append("chrF")
                case .exactMatch: headers.append("EM")
                }
            }
            func cells(id: String, rouge: [(type: RougeType, score: RougeScore)], bleu: Double?, chrf: Double?,
                       em: Double?) -> [String] {
                var row = [id]
                var k = 0
                for metric in report.metrics {
                    switch metric {
                    case .rouge1, .rouge2, .rougeL, .rougeLsum:
                        row.append(k < rouge.count ? String(format: "%.4f", rouge[k].score.fmeasure) : "-")
                        k += 1
                    case .bleu: row.append(bleu.map { String(format: "%.2f", $0) } ?? "-")
                    case .chrf: row.append(chrf.map { String(format: "%.2f", $0) } ?? "-")
                    case .exactMatch: row.append(em.map { String(format: "%.0f", $0) } ?? "-")
                    }
                }
                return row
            }
            var rows = report.examples.map {
                cells(id: $0.id, rouge: $0.rouge, bleu: $0.bleu?.score, chrf: $0.chrf?.score, em: $0.exactMatch)
            }
            let c = report.corpus
            var corpusRow = cells(id: "corpus (\(c.count))", rouge: c.rouge, bleu: c.bleu?.score, chrf: c.chrf?.score, em: nil)
            if let em = c.exactMatch, let index = report.metrics.firstIndex(of: .exactMatch) {
                corpusRow[index + 1] = String(format: "%.3f", em)
            }
            rows.append(corpusRow)
            let widths = headers.indices.map { i in max(headers[i].count, rows.map { $0[i].count }.max() ?? 0) }
            func line(_ row: [String]) -> String {
                row.enumerated().map { i, cell in
                    i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[i] - cell.count) + cell
                }.joined(separator: "  ")
            }
            var out = [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
            out += rows.dropLast().map(line)
            out.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
            out.append(line(rows[rows.count - 1]))
            out.append("")
            out.append("ROUGE: rouge-score 0.1.2, \(report.useStemmer ? "with" : "without") Porter stemmer; corpus = mean over pairs")
            if let bleu = c.bleu { out.append(bleu.formatted) }
            if let chrf = c.chrf { out.append(chrf.formatted) }
            if let signature = report.sentenceBLEUSignature { out.append("per-pair BLEU: \(signature)") }
            if !report.skipped.isEmpty { out.append("skipped \(report.skipped.count) malformed line(s)") }
            return out.joined(separator: "\n")
        }
    }
}
