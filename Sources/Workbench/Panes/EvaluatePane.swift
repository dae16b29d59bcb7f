import Evaluation
import Foundation
import TUI

/// The Evaluate pane: scores a JSONL file of {"prediction", "reference"} pairs with the text
/// metrics (ROUGE-1/2/L/Lsum, BLEU, chrF, exact match) on the evaluation queue; rows arrive as they
/// are scored. The table sorts by any metric (`s` next column, `r` reverse, or click a header) and
/// Enter opens one example: prediction, reference and every score.
public final class EvaluatePane: Pane {
    public private(set) var state = EvaluatePaneState()
    let pathField = TextEditor(placeholder: "JSONL with {\"prediction\", \"reference\"} per line — Enter scores it", singleLine: true)
    static let metricColumns = ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "chrf", "exact_match"]
    let table = Table(columns: [Table.Column("id", width: .weight(2))]
        + EvaluatePane.metricColumns.map { Table.Column($0 == "exact_match" ? "EM" : $0, width: .weight(1), alignRight: true) })
    private let summary = TextBlock()
    private let tablePanel: Panel
    private var lastPath = ""

    init(shell: WorkbenchShell) {
        tablePanel = Panel("Examples", table)
        super.init(title: "Evaluate", shell: shell)
        table.emptyMessage = "No evaluation yet: type a file path above and press Enter."
        pathField.onSubmit = { [weak self] path in self?.run(path) }
        table.onActivate = { [weak self] row in self?.drillDown(row) }
        body = Split(.vertical, [(.fixed(3), Panel("Predictions file", pathField)), (.fixed(4), Panel("Corpus", summary)),
                                 (.weight(1), tablePanel)])
    }

    override var focusables: [any View] { [pathField, table] }
    override var paneHints: [KeyHint] { [KeyHint("Enter", "score file / open example"), KeyHint("Esc", "stop")] }
    override var activeJobDescription: String? { state.runningJob == nil ? nil : "an evaluation" }
    override var commands: [PaletteCommand] {
        [PaletteCommand("evaluate run", detail: "score the file in the path field") { [weak self] in
            guard let self else { return }
            self.run(self.pathField.text)
        }]
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        if key.key == .escape, let job = state.runningJob { shell.jobs.cancel(job); return .handled }
        return .ignored
    }

    func run(_ rawPath: String) {
        let path = (rawPath.trimmingCharacters(in: .whitespaces) as NSString).expandingTildeInPath
        guard !path.isEmpty else { shell.app.toast("Type the path of a predictions JSONL file first"); return }
        guard FileManager.default.fileExists(atPath: path) else { shell.app.toast("No file at \(path)"); return }
        if let job = state.runningJob { shell.jobs.cancel(job) }
        state = EvaluatePaneState()
        state.sort(by: nil)  // by id, ascending
        lastPath = path
        let id = shell.jobs.start(.evaluation, title: "evaluate") { ctx in try EvaluationWork.run(path: path, context: ctx) }
        state.runningJob = id
        shell.app.focus(table)
    }

    private func drillDown(_ row: Int) {
        guard state.rows.indices.contains(row) else { return }
        let r = state.rows[row]
        let scores = Self.metricColumns.compactMap { m in r.scores[m].map { "\(m) \(Self.format($0, m))" } }.joined(separator: " · ")
        let message = "PREDICTION\n\(r.prediction.isEmpty ? "(empty)" : r.prediction)\n\nREFERENCE\n\(r.reference)\n\n\(scores)"
        shell.app.present(ModalDialog(title: "Example \(r.id)", message: message, buttons: ["Close"]))
    }

    static func format(_ v: Double, _ metric: String) -> String {
        switch metric {
        case "bleu", "chrf": String(format: "%.2f", v)
        case "exact_match": String(format: "%.0f", v)
        default: String(format: "%.4f", v)
        }
    }

    override func receive(_ message: JobMessage) {
        guard message.job == state.runningJob else { return }
        switch message.event {
        case let .jobEnded(_, .failed(reason)): shell.app.toast("Evaluation failed: \(reason)")
        case let .corpusScores(values): state.corpus = values
        default: break
        }
        state.apply(message)  // rows, progress, end
    }

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        table.setRows(state.rows.map { r in [r.id] + Self.metricColumns.map { m in r.scores[m].map { Self.format($0, m) } ?? "–" } })
        tablePanel.status = state.runningJob != nil ? "scoring \(state.done)/\(state.total)" : (state.rows.isEmpty ? "" : "\(state.rows.count) examples")
        if state.rows.isEmpty {
            summary.paragraphs = [[Span("Metrics: ROUGE-1/2/L/Lsum F (rouge-score), sentence BLEU and chrF (sacreBLEU), exact match.", .muted)]]
        } else {
            let means = state.means
            var line1: [Span] = [Span("mean ", .muted)]
            for m in ["rouge1", "rouge2", "rougeL", "rougeLsum"] { if let v = means[m] { line1 += [Span("\(m) ", .muted), Span(Self.format(v, m) + "  ", .accent)] } }
            var line2: [Span] = [Span("corpus ", .muted)]
            for m in ["bleu", "chrf"] { if let v = state.corpus[m] { line2 += [Span("\(m) ", .muted), Span(Self.format(v, m) + "  ", .accent)] } }
            if let em = means["exact_match"] { line2 += [Span("exact match ", .muted), Span(String(format: "%.3f", em), .accent)] }
            summary.paragraphs = [line1, line2]
        }
        super.render(canvas, context)
    }
}

enum EvaluationWork {
    /// Scores every pair of `path`, posting one `.evaluationRow` per example, then the corpus scores.
    static func run(path: String, context ctx: JobContext) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // The texts, by line number, for the drill-down (the report carries scores only).
        var texts: [Int: (String, String)] = [:]
        var pairs: [TextPair] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let prediction = obj["prediction"] as? String else { continue }
            let reference = (obj["reference"] as? String) ?? (obj["references"] as? [String])?.first ?? ""
            texts[lineNumber] = (prediction, reference)
            let id = (obj["id"] as? String) ?? (obj["id"] as? NSNumber)?.stringValue ?? String(lineNumber)
            pairs.append(TextPair(id: id, prediction: prediction, reference: reference, line: lineNumber))
        }
        let total = texts.count
        let evaluation = TextEvaluation(onMalformedLine: .skip)
        var done = 0
        let report = try evaluation.evaluate(file: path) { scores in
            done += 1
            var values: [String: Double] = [:]
            for r in scores.rouge { values[r.type.description] = r.score.fmeasure }
            if let b = scores.bleu { values["bleu"] = b.score }
            if let c = scores.chrf { values["chrf"] = c.score }
            if let em = scores.exactMatch { values["exact_match"] = em }
            let text = texts[scores.line] ?? ("", "")
            ctx.post(.evaluationRow(EvaluationRow(id: scores.id, scores: values, prediction: text.0, reference: text.1)))
            ctx.post(.progress(done: done, total: total))
            return ctx.isCancelled ? .stop : .proceed
        }
        let scored = Set(report.examples.map(\.line))
        let corpus = evaluation.corpus(pairs.filter { scored.contains($0.line) }, report.examples)
        var values: [String: Double] = [:]
        if let b = corpus.bleu { values["bleu"] = b.score }
        if let c = corpus.chrf { values["chrf"] = c.score }
        ctx.post(.corpusScores(values))
    }
}
