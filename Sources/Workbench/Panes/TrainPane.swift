import Engine
import Foundation
import TUI
import Training

/// The Train pane: method and data, start / pause / cancel, live loss, validation loss, learning
/// rate and tokens/s charts fed by `RunEvent`s of a `TrainingRunner` on the training queue.
///
/// LoRA and QLoRA run Training's `LanguageModelTask` on the active Gemma 3 GGUF model
/// (`TrainerCatalog`); for the other methods the pane says plainly that they are not available here.
public final class TrainPane: Pane {
    public private(set) var state = TrainPaneState()
    let method = Choice("method", options: TrainingMethod.allCases.map(\.rawValue), selected: 1)
    let dataField = TextEditor(text: "data/samples/sft.jsonl", placeholder: "training data (JSONL)", singleLine: true)
    let lossChart = LineChart()
    let lrChart = LineChart()
    let speedChart = LineChart()
    private let statusText = TextBlock()
    private var control: RunControl?
    private var runFolder: String?

    init(shell: WorkbenchShell) {
        super.init(title: "Train", shell: shell)
        lossChart.emptyMessage = "No run yet"
        lrChart.emptyMessage = "No run yet"
        speedChart.emptyMessage = "No run yet"
        method.onChange = { [weak self] i in self?.state.method = TrainingMethod.allCases[i] }
        state.method = .lora
        let setup = rows([(1, method), (1, Label("")), (1, dataField)], fill: true)
        let top = Split(.horizontal, [(.weight(2), Panel("Run", setup)), (.weight(3), Panel("Status", statusText))])
        let bottom = Split(.horizontal, [(.weight(1), Panel("learning rate", lrChart)), (.weight(1), Panel("tokens/s", speedChart))])
        body = Split(.vertical, [(.fixed(7), top), (.weight(3), Panel("loss · validation loss", lossChart)), (.weight(2), bottom)])
    }

    override var focusables: [any View] { [method, dataField, lossChart, lrChart, speedChart] }
    override var paneHints: [KeyHint] { [KeyHint("Ctrl-R", "start"), KeyHint("Ctrl-P", "pause/resume"), KeyHint("Esc", "cancel")] }
    override var activeJobDescription: String? { state.runningJob == nil ? nil : "a training run" }
    override var commands: [PaletteCommand] {
        [PaletteCommand("train start", detail: "start the chosen method on the data") { [weak self] in self?.start() },
         PaletteCommand("train pause", detail: "pause or resume the run") { [weak self] in self?.togglePause() },
         PaletteCommand("train cancel", detail: "stop the run (a checkpoint is kept)") { [weak self] in self?.cancel() }]
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        switch (key.key, key.modifiers) {
        case (.character("r"), .control): start()
        case (.character("p"), .control) where state.runningJob != nil: togglePause()
        case (.escape, []) where state.runningJob != nil: cancel()
        default: return .ignored
        }
        return .handled
    }

    func start() {
        guard state.runningJob == nil else { shell.app.toast("A run is already going; cancel it first"); return }
        let chosen = TrainingMethod.allCases[method.selected]
        if let reason = TrainerCatalog.availability(chosen) {
            shell.app.present(ModalDialog(title: "Cannot train", message: "\(chosen.rawValue): \(reason)", buttons: ["OK"], tone: .warning))
            return
        }
        guard let model = shell.activeModel else { shell.app.toast(WorkbenchError.noModel.description); return }
        let data = (dataField.text.trimmingCharacters(in: .whitespaces) as NSString).expandingTildeInPath
        guard FileManager.default.fileExists(atPath: data) else { shell.app.toast("No training data at \(data)"); return }
        let folder = (shell.configuration.workspace ?? FileManager.default.temporaryDirectory)
            .appendingPathComponent("runs").appendingPathComponent("workbench-\(chosen.rawValue)-\(Int(Date().timeIntervalSince1970))")
        let control = RunControl()
        self.control = control
        state = TrainPaneState()
        state.method = chosen
        state.status = .running
        runFolder = folder.path
        // Loading the trainable model and tokenizing the data are engine work: all on the training queue.
        state.runningJob = shell.jobs.start(.training, title: "train \(chosen.rawValue)") { ctx in
            let task = try TrainerCatalog.makeTask(method: chosen, modelPath: model.path, dataPath: data)
            let runner = TrainingRunner(task: task.value, folder: folder, settings: task.settings, control: control)
            try runner.run(resume: false) { event in
                ctx.post(.training(event))
                if ctx.isCancelled { control.cancel() }
                return .proceed
            }
        }
    }

    private func togglePause() {
        guard let control else { return }
        if state.status == .paused { control.resume() } else { control.pause() }
    }

    private func cancel() {
        control?.cancel()
        if let job = state.runningJob { shell.jobs.cancel(job) }
    }

    override func receive(_ message: JobMessage) {
        state.apply(message)
        if message.job == state.runningJob || state.runningJob == nil, case .jobEnded = message.event { control = nil }
    }

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        func points(_ name: String) -> [(x: Double, y: Double)] { state.series(name).points.map { (Double($0.step), $0.value) } }
        lossChart.series = [ChartSeries("loss", points: points("loss")), ChartSeries("val loss", points: points("val_loss"))]
        lrChart.series = [ChartSeries("lr", points: points("lr"), role: .series(3))]
        speedChart.series = [ChartSeries("tok/s", points: points("tokens_per_second"), role: .series(4))]
        var lines: [[Span]] = []
        let availability = TrainerCatalog.availability(state.method)
        switch state.status {
        case .idle:
            if let reason = availability {
                lines.append([Span("\(state.method.rawValue.uppercased()): not available in this pane", .warning)])
                lines.append([Span(reason, .muted)])
            } else {
                lines.append([Span("Ready: ", .success), Span("Ctrl-R trains a LoRA adapter (rank 8, q/k/v/o) on the active model, \(TrainerCatalog.steps) steps, batch 4, lr 2e-4.", .body)])
            }
        case .running where state.totalSteps == 0:
            lines.append([Span("loading the model and the data…", .muted)])
        case .running, .paused:
            let pct = String(format: "%.0f%%", state.progress * 100)
            lines.append([Span(state.status == .paused ? "paused " : "running ", state.status == .paused ? .warning : .success),
                          Span("step \(state.step)/\(state.totalSteps) (\(pct))", .body)])
            var l2: [Span] = []
            if let eta = state.etaSeconds { l2 += [Span("ETA ", .muted), Span(ProgressBar.duration(eta), .accent), Span("  ", .muted)] }
            if let tps = state.tokensPerSecond { l2 += [Span(String(format: "%.0f tok/s", tps), .accent)] }
            lines.append(l2)
        case .finished: lines.append([Span("finished at step \(state.step)", .success)])
        case .cancelled: lines.append([Span("cancelled at step \(state.step)", .warning)])
        case let .failed(reason): lines.append([Span("failed: \(reason)", .error)])
        }
        if let f = runFolder, state.status != .idle { lines.append([Span("run ", .muted), Span(f, .body)]) }
        if let c = state.lastCheckpoint { lines.append([Span("checkpoint ", .muted), Span(c, .body)]) }
        statusText.paragraphs = lines
        super.render(canvas, context)
    }
}

/// The trainers this build has, by method. A method without one reports why, so the Train pane can
/// say so rather than pretend.
public enum TrainerCatalog {
    public struct Task: @unchecked Sendable {
        public let value: any TrainableTask
        public let settings: RunSettings
    }

    public enum Unavailable: Error, CustomStringConvertible {
        case method(TrainingMethod, String)
        public var description: String {
            switch self {
            case let .method(m, reason): "\(m.rawValue) training is not available: \(reason)"
            }
        }
    }

    /// Why `method` cannot run in this build, or nil when it can.
    /// Optimizer steps of a run started from the pane (cancel or pause it any time; a checkpoint is kept).
    public static let steps = 50

    /// Why `method` cannot run in this build, or nil when it can.
    public static func availability(_ method: TrainingMethod) -> String? {
        switch method {
        case .lora, .qlora: nil
        case .sft: "full fine-tuning runs from the command line (`whet train sft` on a safetensors model folder); the pane trains LoRA adapters on the GGUF model"
        case .dpo, .reward, .rlhf: "\(method.rawValue) runs from the command line (`whet train \(method.rawValue)`, docs/training.md); the pane does not start it yet"
        }
    }

    /// A LoRA (= QLoRA: the frozen base stays in its GGUF blocks) run on `dataPath` with the
    /// defaults of `whet train lora`: rank 8, alpha 16, q/k/v/o, batch 4, lr 2e-4, rows of 128 tokens,
    /// completion-only loss, 10 % held out for validation (every 10 steps). Call it off the UI thread.
    public static func makeTask(method: TrainingMethod, modelPath: String, dataPath: String) throws -> Task {
        if let reason = availability(method) { throw Unavailable.method(method, reason) }
        let file = try GGUFFile(path: modelPath)
        let gemma = try Gemma3Model(file: file)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let settings = LanguageModelTrainingSettings()
        let trainable = try Gemma3TrainableModel(model: gemma, lora: LoRAConfiguration(), seed: settings.seed)
        let template = try ChatTemplate.resolve("auto", architecture: file.metadata.architecture,
                                                embeddedTemplate: file.metadata.string("tokenizer.chat_template"))
        let formatting = SFTFormatting(template: template, completionOnly: true, endOfSequence: Int(tokenizer.eosID))
        let dataset = try Dataset.load(path: dataPath)
        try dataset.requireKind([.text, .promptCompletion, .conversation, .instruction])
        let (train, validation) = dataset.split(validationFraction: 0.1, seed: settings.seed)
        func rows(_ examples: [DatasetExample]) throws -> [TrainingRow] {
            SequenceLayout.pad.rows(try examples.map { try formatting.tokenize($0.record, with: tokenizer) }, length: 128,
                                    padToken: Int(tokenizer.padID ?? 0))
        }
        let task = try LanguageModelTask(model: trainable, rows: try rows(train), validationRows: try rows(validation), settings: settings)
        return Task(value: task, settings: RunSettings(totalSteps: steps, checkpointEvery: 25, validateEvery: 10))
    }
}
