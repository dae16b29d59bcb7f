import Foundation
import TUI
import Training

/// The Train pane: method and data, start / pause / cancel, live loss, validation loss, learning
/// rate and tokens/s charts fed by `RunEvent`s of a `TrainingRunner` on the training queue.
///
/// Which methods can run depends on the trainers in this build (`TrainerCatalog`); for the others
/// the pane says plainly that they are not available instead of showing anything made up.
public final class TrainPane: Pane {
    public private(set) var state = TrainPaneState()
    let method = Choice("method", options: TrainingMethod.allCases.map(\.rawValue), selected: 1)
    let dataField = TextEditor(text: "data/samples/sft.jsonl", placeholder: "training data (JSONL)", singleLine: true)
    let lossChart = LineChart()
    let lrChart = LineChart()
    let speedChart = LineChart()
    private let statusText = TextBlock()
    private var control: RunControl?

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
        guard let model = shell.activeModel else { shell.app.toast(WorkbenchError.noModel.description); return }
        let data = (dataField.text as NSString).expandingTildeInPath
        do {
            let task = try TrainerCatalog.makeTask(method: state.method, modelPath: model.path, dataPath: data)
            let folder = (shell.configuration.workspace ?? FileManager.default.temporaryDirectory)
                .appendingPathComponent("runs").appendingPathComponent("workbench-\(state.method.rawValue)-\(Int(Date().timeIntervalSince1970))")
            let control = RunControl()
            self.control = control
            let runner = TrainingRunner(task: task.value, folder: folder, settings: task.settings, control: control)
            // The runner is used only on the training queue from here on.
            let box = UncheckedBox(runner)
            state = TrainPaneState()
            state.method = TrainingMethod.allCases[method.selected]
            state.runningJob = shell.jobs.start(.training, title: "train \(state.method.rawValue)") { ctx in
                try box.value.run(resume: false) { event in
                    ctx.post(.training(event))
                    if ctx.isCancelled { control.cancel() }
                    return .proceed
                }
            }
        } catch {
            shell.app.present(ModalDialog(title: "Cannot train", message: "\(error)", buttons: ["OK"], tone: .warning))
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
                lines.append([Span("\(state.method.rawValue.uppercased()): not available in this build", .warning)])
                lines.append([Span(reason, .muted)])
            } else {
                lines.append([Span("Ready: Ctrl-R starts \(state.method.rawValue) on the active model.", .body)])
            }
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
        if let c = state.lastCheckpoint { lines.append([Span("checkpoint ", .muted), Span(c, .body)]) }
        statusText.paragraphs = lines
        super.render(canvas, context)
    }
}

/// Hands a non-Sendable object to exactly one other queue.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
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
    public static func availability(_ method: TrainingMethod) -> String? {
        "no \(method.rawValue) trainer for GGUF models is part of this build yet (the Gemma LoRA trainer is being "
            + "built on branch `training`); Training has the runner, checkpoints and loss functions, not the model trainer."
    }

    public static func makeTask(method: TrainingMethod, modelPath: String, dataPath: String) throws -> Task {
        throw Unavailable.method(method, availability(method) ?? "unknown")
    }
}
