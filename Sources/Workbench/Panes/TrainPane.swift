import Engine
import Foundation
import TUI
import Training

/// The Train pane: method, data and steps, start / pause / cancel (or resume the newest run of the
/// method), and live charts fed by the `RunEvent`s of a `TrainingRunner` on the training queue.
///
/// LoRA / QLoRA, DPO, reward model and RLHF (GRPO) run through `TrainingWork` — the same task code
/// as `whet train` — on the active Gemma 3 GGUF model; the charts follow the method
/// (`TrainingMethod.charts`): loss, validation loss, lr, tokens/s for LoRA; loss, rewards and
/// accuracies for DPO; loss and accuracy for the reward model; mean reward and KL for RLHF.
public final class TrainPane: Pane {
    public internal(set) var state = TrainPaneState()
    let method = Choice("method", options: TrainingMethod.allCases.map(\.rawValue), selected: 1)
    let dataField = TextEditor(text: TrainerCatalog.defaultData(for: .lora), placeholder: "training data (JSONL)", singleLine: true)
    let stepsSlider = Slider("steps", value: Double(TrainerCatalog.defaultSteps), range: 1...1000, step: 1,
                             format: { String(Int($0)) })
    let startChoice = Choice("start", options: ["new run", "resume last"])
    let mainChart = LineChart()
    let leftChart = LineChart()
    let rightChart = LineChart()
    private let mainPanel: Panel
    private let leftPanel: Panel
    private let rightPanel: Panel
    private let statusText = TextBlock()
    private var control: RunControl?
    private var runFolder: String?
    /// The reward model an RLHF run would use (the newest in the workspace's runs/), looked up when
    /// the method or the pane changes.
    private(set) var rewardModel: String?
    /// The run "resume last" would continue.
    private(set) var resumable: TrainerCatalog.Resumable?
    /// Pairs, prompts or sequences per step (`whet train`'s default; tests make it smaller).
    var batchSize = TrainerCatalog.batchSize

    init(shell: WorkbenchShell) {
        mainPanel = Panel("", mainChart)
        leftPanel = Panel("", leftChart)
        rightPanel = Panel("", rightChart)
        super.init(title: "Train", shell: shell)
        for chart in [mainChart, leftChart, rightChart] { chart.emptyMessage = "No run yet" }
        method.onChange = { [weak self] i in self?.methodChanged(TrainingMethod.allCases[i]) }
        startChoice.onChange = { [weak self] _ in self?.refreshRuns() }
        state.method = .lora
        let setup = rows([(1, method), (1, dataField), (1, stepsSlider), (1, startChoice)], fill: true)
        let top = Split(.horizontal, [(.weight(2), Panel("Run", setup)), (.weight(3), Panel("Status", statusText))])
        let bottom = Split(.horizontal, [(.weight(1), leftPanel), (.weight(1), rightPanel)])
        // The small charts keep the rows a chart needs on a 24-line terminal.
        body = Split(.vertical, [(.fixed(7), top), (.weight(2), mainPanel), (.minimum(6), bottom)])
    }

    override var focusables: [any View] { [method, dataField, stepsSlider, startChoice, mainChart, leftChart, rightChart] }
    override var paneHints: [KeyHint] { [KeyHint("Ctrl-R", "start"), KeyHint("Ctrl-P", "pause/resume"), KeyHint("Esc", "cancel")] }
    override var activeJobDescription: String? { state.runningJob == nil ? nil : "a training run" }
    override var commands: [PaletteCommand] {
        [PaletteCommand("train start", detail: "start the chosen method on the data") { [weak self] in self?.start() },
         PaletteCommand("train pause", detail: "pause or resume the run") { [weak self] in self?.togglePause() },
         PaletteCommand("train cancel", detail: "stop the run (a checkpoint is kept)") { [weak self] in self?.cancel() }]
    }

    override func didAppear() { refreshRuns() }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        switch (key.key, key.modifiers) {
        case (.character("r"), .control): start()
        case (.character("p"), .control) where state.runningJob != nil: togglePause()
        case (.escape, []) where state.runningJob != nil: cancel()
        default: return .ignored
        }
        return .handled
    }

    var runsFolder: URL { TrainerCatalog.runsFolder(workspace: shell.configuration.workspace) }
    var resumeChosen: Bool { startChoice.selected == 1 }

    private func methodChanged(_ chosen: TrainingMethod) {
        // Keep a path the user typed; swap one sample file for the other.
        let typed = dataField.text.trimmingCharacters(in: .whitespaces)
        if typed.isEmpty || TrainingMethod.allCases.contains(where: { TrainerCatalog.defaultData(for: $0) == typed }) {
            dataField.setText(TrainerCatalog.defaultData(for: chosen))
        }
        if state.runningJob == nil {
            state = TrainPaneState()
            state.method = chosen
            runFolder = nil
        }
        refreshRuns()
    }

    /// Looks up the reward model for RLHF and the run "resume last" would continue (a directory listing).
    private func refreshRuns() {
        let chosen = TrainingMethod.allCases[method.selected]
        rewardModel = chosen == .rlhf ? RewardModelRecord.newest(in: runsFolder)?.path : nil
        resumable = resumeChosen ? TrainerCatalog.latestResumable(chosen, in: runsFolder) : nil
    }

    func start() {
        guard state.runningJob == nil else { shell.app.toast("A run is already going; cancel it first"); return }
        let chosen = TrainingMethod.allCases[method.selected]
        refreshRuns()
        if let reason = TrainerCatalog.availability(chosen, rewardModel: rewardModel) {
            shell.app.present(ModalDialog(title: "Cannot train", message: "\(chosen.rawValue): \(reason)", buttons: ["OK"], tone: .warning))
            return
        }
        guard let model = shell.activeModel else { shell.app.toast(WorkbenchError.noModel.description); return }
        let steps = Int(stepsSlider.value)
        var plan: TrainingPlan
        if resumeChosen {
            guard let last = resumable else {
                shell.app.toast("No \(chosen.rawValue) run with a checkpoint in \(runsFolder.path) to resume; choose \"new run\"")
                return
            }
            guard steps > last.step else {
                shell.app.toast("The last \(chosen.rawValue) run already reached step \(last.step); set more steps than that to continue it")
                return
            }
            plan = TrainingPlan(method: chosen, modelPath: model.path, dataPath: last.record.data, steps: steps,
                                batchSize: Int(last.record.arguments["batch_size"] ?? "") ?? batchSize, folder: last.folder,
                                resume: true, rewardModel: last.record.arguments["reward"] ?? rewardModel)
            dataField.setText(last.record.data)
        } else {
            let data = (dataField.text.trimmingCharacters(in: .whitespaces) as NSString).expandingTildeInPath
            guard FileManager.default.fileExists(atPath: data) else { shell.app.toast("No training data at \(data)"); return }
            plan = TrainingPlan(method: chosen, modelPath: model.path, dataPath: data, steps: steps, batchSize: batchSize,
                                folder: TrainerCatalog.newRunFolder(chosen, in: runsFolder), rewardModel: rewardModel)
        }
        let control = RunControl()
        self.control = control
        state = TrainPaneState()
        state.method = chosen
        state.status = .running
        runFolder = plan.folder.path
        // Loading the model and tokenizing the data are engine work: all on the training queue.
        let job = plan
        state.runningJob = shell.jobs.start(.training, title: "train \(chosen.rawValue)") { ctx in
            try TrainingWork.run(job, control: control, context: ctx)
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

    /// Quitting cancels the run directly too (a paused run posts no events, so the job would not
    /// pass the cancellation on); the runner then checkpoints its last step.
    override func willQuit() { cancel() }

    override func receive(_ message: JobMessage) {
        let mine = message.job == state.runningJob
        state.apply(message)
        if mine, case .jobEnded = message.event {
            control = nil
            refreshRuns()
        }
    }

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        func points(_ name: String) -> [(x: Double, y: Double)] { state.series(name).points.map { (Double($0.step), $0.value) } }
        let charts = state.method.charts
        for (i, (chart, panel)) in [(mainChart, mainPanel), (leftChart, leftPanel), (rightChart, rightPanel)].enumerated() {
            panel.title = charts[i].title
            // Series roles stay fixed per position so a series keeps its colour across methods.
            chart.series = charts[i].series.enumerated().map { j, name in
                ChartSeries(TrainingMethod.label(of: name), points: points(name), role: .series(1 + i * 2 + j))
            }
        }
        statusText.paragraphs = statusLines()
        super.render(canvas, context)
    }

    private func statusLines() -> [[Span]] {
        var lines: [[Span]] = []
        let chosen = state.method
        switch state.status {
        case .idle:
            if let reason = TrainerCatalog.availability(chosen, rewardModel: rewardModel) {
                lines.append([Span("\(chosen.rawValue.uppercased()): cannot start here", .warning)])
                lines.append([Span(reason, .muted)])
            } else if resumeChosen {
                if let r = resumable {
                    lines.append([Span("Ready: ", .success), Span("Ctrl-R resumes \(r.folder.lastPathComponent) at step \(r.step + 1) of \(Int(stepsSlider.value)) (data \(r.record.data)).", .body)])
                } else {
                    lines.append([Span("Nothing to resume: ", .warning), Span("no \(chosen.rawValue) run with a checkpoint in \(runsFolder.path).", .muted)])
                }
            } else {
                lines.append([Span("Ready: ", .success), Span("Ctrl-R " + Self.describe(chosen, steps: Int(stepsSlider.value), batch: batchSize), .body)])
                if chosen == .rlhf, let rewardModel { lines.append([Span("reward model ", .muted), Span(rewardModel, .body)]) }
            }
        case .running where state.totalSteps == 0:
            lines.append([Span("loading the model and the data…", .muted)])
        case .running, .paused:
            let pct = String(format: "%.0f%%", state.progress * 100)
            lines.append([Span(state.status == .paused ? "paused " : "running ", state.status == .paused ? .warning : .success),
                          Span("\(chosen.rawValue) step \(state.step)/\(state.totalSteps) (\(pct))", .body)]
                         + (state.resumedAfter > 0 ? [Span(" resumed after \(state.resumedAfter)", .muted)] : []))
            var l2: [Span] = []
            if let loss = state.lastLoss { l2 += [Span("loss ", .muted), Span(String(format: "%.4f  ", loss), .accent)] }
            for key in chosen.headline {
                if let v = state.lastExtra[key] { l2 += [Span("\(key) ", .muted), Span(String(format: "%.3f  ", v), .accent)] }
            }
            if let eta = state.etaSeconds { l2 += [Span("ETA ", .muted), Span(ProgressBar.duration(eta) + "  ", .accent)] }
            if chosen.headline.isEmpty, let tps = state.tokensPerSecond { l2 += [Span(String(format: "%.0f tok/s", tps), .accent)] }
            lines.append(l2)
        case .finished: lines.append([Span("finished at step \(state.step)", .success)])
        case .cancelled: lines.append([Span("cancelled at step \(state.step) (resume it: start ▸ resume last)", .warning)])
        case let .failed(reason): lines.append([Span("failed: \(reason)", .error)])
        }
        if let f = runFolder, state.status != .idle { lines.append([Span("run ", .muted), Span(f, .body)]) }
        if let o = state.output { lines.append([Span(chosen == .reward ? "reward model " : "adapter ", .muted), Span(o, .body)]) }
        else if let c = state.lastCheckpoint { lines.append([Span("checkpoint ", .muted), Span(c, .body)]) }
        return lines
    }

    /// What Ctrl-R will do, with the defaults it uses.
    static func describe(_ method: TrainingMethod, steps: Int, batch: Int) -> String {
        let pairs = batch == 1 ? "1 pair" : "\(batch) pairs", prompts = batch == 1 ? "1 prompt" : "\(batch) prompts"
        return switch method {
        case .sft, .lora, .qlora:
            "trains a LoRA adapter (rank 8, q/k/v/o) on the active model, \(steps) steps, batch \(batch), lr 2e-4."
        case .dpo:
            "runs DPO (beta 0.1, sigmoid) of a LoRA adapter against the base model, \(steps) steps, \(pairs) a step, lr 2e-4."
        case .reward:
            "trains a reward model (LoRA + scalar head, Bradley–Terry), \(steps) steps, \(pairs) a step; saved to the run's reward/."
        case .rlhf:
            "runs RLHF with GRPO: \(prompts) a step, 4 samples each, scored by the reward model, KL weight 0.04, \(steps) steps."
        }
    }
}
