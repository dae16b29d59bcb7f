import Engine
import Evaluation
import Foundation
import TUI

/// The Evaluate pane: scores a JSONL file of {"prediction", "reference"} pairs with the text
/// metrics (ROUGE-1/2/L/Lsum, BLEU, chrF, exact match) on the evaluation queue, or (Ctrl-R) runs
/// the active model on a dataset first — an `EvalRun`, as `whet eval run` does, into the
/// workspace's runs/eval-… folder; rows arrive as they are scored. The table sorts by any metric
/// (`s` next column, `r` reverse, or click a header) and Enter opens one example: prompt (eval
/// runs), prediction, reference and every score.
public final class EvaluatePane: Pane {
    public internal(set) var state = EvaluatePaneState()
    let pathField = TextEditor(placeholder: "JSONL with {\"prediction\", \"reference\"} per line — Enter scores it", singleLine: true)
    let datasetField = TextEditor(text: "data/samples/sft_heldout.jsonl", placeholder: "dataset JSONL — Ctrl-R runs the active model on it",
                                  singleLine: true)
    /// The folder of the eval run shown (predictions.jsonl, report.json), when the rows come from one.
    public internal(set) var runFolder: URL?
    private var runStartedAt: Double?
    static let metricColumns = ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "chrf", "exact_match"]
    let table = Table(columns: [Table.Column("id", width: .weight(2))]
        + EvaluatePane.metricColumns.map { Table.Column($0 == "exact_match" ? "EM" : $0, width: .weight(1), alignRight: true) })
    private let summary = TextBlock()
    private let tablePanel: Panel
    private var lastPath = ""

    init(shell: WorkbenchShell) {
        tablePanel = Panel("Examples", table)
        super.init(title: "Evaluate", shell: shell)
        table.emptyMessage = "No evaluation yet: type a predictions file and press Enter, or Ctrl-R to run the model on the dataset."
        pathField.onSubmit = { [weak self] path in self?.run(path) }
        datasetField.onSubmit = { [weak self] _ in self?.runModel() }
        table.onActivate = { [weak self] row in self?.drillDown(row) }
        let inputs = Split(.horizontal, [(.weight(1), Panel("Score predictions (Enter)", pathField)),
                                         (.weight(1), Panel("Run model on dataset (Ctrl-R)", datasetField))])
        body = Split(.vertical, [(.fixed(3), inputs), (.fixed(5), Panel("Corpus", summary)), (.weight(1), tablePanel)])
    }

    override var focusables: [any View] { [pathField, datasetField, table] }
    override var paneHints: [KeyHint] {
        [KeyHint("Enter", "score file / open example"), KeyHint("Ctrl-R", "run model on dataset"), KeyHint("Esc", "stop")]
    }
    override var activeJobDescription: String? { state.runningJob == nil ? nil : "an evaluation" }
    override var commands: [PaletteCommand] {
        [PaletteCommand("evaluate file", detail: "score the predictions file in the path field") { [weak self] in
            guard let self else { return }
            self.run(self.pathField.text)
         },
         PaletteCommand("evaluate run", detail: "run the active model on the dataset, then score it") { [weak self] in self?.runModel() }]
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        if key.key == .escape, let job = state.runningJob { shell.jobs.cancel(job); return .handled }
        if key.key == .character("r"), key.modifiers == .control { runModel(); return .handled }
        return .ignored
    }

    /// Starts an eval run of the active model on the dataset field's file (greedy, the model's chat
    /// template, `{{prompt}}`): each answer is generated, scored and shown as it is done, and
    /// written to runs/eval-…/predictions.jsonl; report.json holds the scores at the end.
    func runModel() {
        let path = (datasetField.text.trimmingCharacters(in: .whitespaces) as NSString).expandingTildeInPath
        guard !path.isEmpty else { shell.app.toast("Type the path of a dataset JSONL file first"); return }
        guard FileManager.default.fileExists(atPath: path) else { shell.app.toast("No dataset at \(path)"); return }
        guard shell.activeModel != nil else { shell.app.toast(WorkbenchError.noModel.description); return }
        if let job = state.runningJob { shell.jobs.cancel(job) }
        state = EvaluatePaneState()
        state.sort(by: nil)
        let folder = TrainerCatalog.runsFolder(workspace: shell.configuration.workspace)
            .appendingPathComponent("eval-\(Self.stamp.string(from: Date()))-\(UUID().uuidString.prefix(4).lowercased())")
        runFolder = folder
        runStartedAt = shell.app.clock()
        lastPath = path
        let host = shell.host
        state.runningJob = shell.jobs.start(.evaluation, title: "eval run") { ctx in
            try EvaluationWork.runModel(dataPath: path, folder: folder, host: host, context: ctx)
        }
        shell.app.focus(table)
    }

    static let stamp: DateFormatter = {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.locale = Locale(identifier: "en_US_POSIX")
        return f
    }()

    func run(_ rawPath: String) {
        let path = (rawPath.trimmingCharacters(in: .whitespaces) as NSString).expandingTildeInPath
        guard !path.isEmpty else { shell.app.toast("Type the path of a predictions JSONL file first"); return }
        guard FileManager.default.fileExists(atPath: path) else { shell.app.toast("No file at \(path)"); return }
        if let job = state.runningJob { shell.jobs.cancel(job) }
        state = EvaluatePaneState()
        state.sort(by: nil)  // by id, ascending
        lastPath = path
        runFolder = nil
        runStartedAt = nil
        let id = shell.jobs.start(.evaluation, title: "evaluate") { ctx in try EvaluationWork.run(path: path, context: ctx) }
        state.runningJob = id
        shell.app.focus(table)
    }

    private func drillDown(_ row: Int) {
        guard state.rows.indices.contains(row) else { return }
        let r = state.rows[row]
        let scores = Self.metricColumns.compactMap { m in r.scores[m].map { "\(m) \(Self.format($0, m))" } }.joined(separator: " · ")
        // The dialog does not scroll: long texts are cut so the reference and the scores stay in view
        // (the whole texts are in the file / the run's predictions.jsonl).
        let prompt = r.prompt.isEmpty ? "" : "PROMPT\n\(Self.clip(r.prompt, 240, keepEnd: true))\n\n"
        let prediction = r.prediction.isEmpty ? "(empty)" : Self.clip(r.prediction, 360)
        let message = prompt + "PREDICTION\n\(prediction)\n\nREFERENCE\n\(Self.clip(r.reference, 240))\n\n\(scores)"
        shell.app.present(ModalDialog(title: "Example \(r.id)", message: message, buttons: ["Close"]))
    }

    /// `text` cut to `limit` characters (its start, or with `keepEnd` its end), marked with "…".
    static func clip(_ text: String, _ limit: Int, keepEnd: Bool = false) -> String {
        guard text.count > limit else { return text }
        return keepEnd ? "…" + String(text.suffix(limit)) : String(text.prefix(limit)) + "…"
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
        let verb = runFolder == nil ? "scoring" : "generating"
        tablePanel.status = state.runningJob != nil ? "\(verb) \(state.done)/\(state.total)" : (state.rows.isEmpty ? "" : "\(state.rows.count) examples")
        var head: [[Span]] = []
        if let folder = runFolder {
            var line: [Span] = [Span(state.runningJob == nil ? "eval run " : "running the model ", state.runningJob == nil ? .muted : .success)]
            if state.total > 0 {
                let fraction = Double(state.done) / Double(state.total)
                line += [Span(meter(fraction, width: 12), .accent), Span(" \(state.done)/\(state.total)  ", .body)]
                if state.runningJob != nil, state.done > 0, let started = runStartedAt {
                    let perExample = (shell.app.clock() - started) / Double(state.done)
                    line += [Span("ETA ", .muted), Span(ProgressBar.duration(perExample * Double(state.total - state.done)) + "  ", .accent)]
                }
            } else if state.runningJob != nil {
                line += [Span("reading the dataset…  ", .muted)]
            }
            line += [Span(folder.path, .muted)]
            head = [line]
        }
        if state.rows.isEmpty {
            summary.paragraphs = head + [[Span("Metrics: ROUGE-1/2/L/Lsum F (rouge-score), sentence BLEU and chrF (sacreBLEU), exact match.", .muted)]]
        } else {
            let means = state.means
            var line1: [Span] = [Span("mean ", .muted)]
            for m in ["rouge1", "rouge2", "rougeL", "rougeLsum"] { if let v = means[m] { line1 += [Span("\(m) ", .muted), Span(Self.format(v, m) + "  ", .accent)] } }
            var line2: [Span] = [Span("corpus ", .muted)]
            for m in ["bleu", "chrf"] { if let v = state.corpus[m] { line2 += [Span("\(m) ", .muted), Span(Self.format(v, m) + "  ", .accent)] } }
            if let em = means["exact_match"] { line2 += [Span("exact match ", .muted), Span(String(format: "%.3f", em), .accent)] }
            summary.paragraphs = head + [line1, line2]
        }
        super.render(canvas, context)
    }
}

enum EvaluationWork {
    /// An eval run of the open model on `dataPath` into `folder` (the same `EvalRun` as `whet eval
    /// run`, default prompt: greedy, the model's chat template): one `.evaluationRow` per scored
    /// example as it is generated, progress, then the corpus scores of the run's report.
    static func runModel(dataPath: String, folder: URL, host: ModelHost, context ctx: JobContext) throws {
        guard let model = host.model else { throw WorkbenchError.noModel }
        let prompt = EvalRun.defaultPrompt
        try EvalRun.prepareFolder(folder, prompt: prompt)
        let run = try EvalRun(model: model, dataPath: dataPath, prompt: prompt, evaluation: TextEvaluation(onMalformedLine: .skip),
                              outputFolder: folder)
        let report = try run.run { event in
            switch event {
            case let .started(total, resumed): ctx.post(.progress(done: resumed, total: total))
            case let .scored(row, scores, done, total):
                ctx.post(.evaluationRow(EvaluationRow(id: row.id, scores: metricValues(scores), prediction: row.prediction,
                                                      reference: row.references.joined(separator: "\n— or —\n"), prompt: row.prompt)))
                ctx.post(.progress(done: done, total: total))
            case let .skipped(problem): ctx.post(.notice("skipped \(problem)"))
            case .finished, .failed: break
            }
            if ctx.isCancelled { run.cancel() }
        }
        var corpus: [String: Double] = [:]
        if let b = report.corpus.bleu { corpus["bleu"] = b.score }
        if let c = report.corpus.chrf { corpus["chrf"] = c.score }
        ctx.post(.corpusScores(corpus))
    }

    /// One example's scores by metric column name.
    static func metricValues(_ scores: TextExampleScores) -> [String: Double] {
        var values: [String: Double] = [:]
        for r in scores.rouge { values[r.type.description] = r.score.fmeasure }
        if let b = scores.bleu { values["bleu"] = b.score }
        if let c = scores.chrf { values["chrf"] = c.score }
        if let em = scores.exactMatch { values["exact_match"] = em }
        return values
    }

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
            let text = texts[scores.line] ?? ("", "")
            ctx.post(.evaluationRow(EvaluationRow(id: scores.id, scores: metricValues(scores), prediction: text.0, reference: text.1)))
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
