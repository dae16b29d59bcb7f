import Foundation
import TUI

/// The Prompt pane: system prompt and prompt editors, live sampler sliders, streamed output with
/// token counter, tokens per second and context meter. Ctrl-R runs; a slider move re-runs at once
/// (auto re-run) or marks the output stale; Esc or Ctrl-X stops.
public final class PromptPane: Pane {
    public private(set) var state = PromptPaneState(contextLength: 0)
    let system = TextEditor(placeholder: "System prompt (optional)")
    let editor = TextEditor(text: "Write a short poem about sharpening a knife on a whetstone.", placeholder: "Prompt")
    let sliders: [GenerationParameter: Slider]
    static let sliderOrder: [GenerationParameter] = [.temperature, .maxTokens, .topP, .topK]
    private let output = TextBlock(followTail: true)
    private let stats = TextBlock()
    private let outputPanel: Panel
    private let samplingPanel: Panel
    /// Re-run as soon as the running generation has stopped (a slider moved meanwhile).
    private var rerunPending = false
    private var countRevision = 0

    init(shell: WorkbenchShell) {
        var made: [GenerationParameter: Slider] = [:]
        let initial = GenerationParameters()
        for p in Self.sliderOrder {
            // Max tokens snaps to multiples of 16 from 0 (the state keeps it ≥ 1).
            let range = p == .maxTokens ? 0...p.range.upperBound : p.range
            made[p] = Slider(p.rawValue, value: initial[p], range: range, step: p.step, format: { p.format(max(p.range.lowerBound, $0)) })
        }
        sliders = made
        outputPanel = Panel("Output", output)
        samplingPanel = Panel("Sampling", rows(Self.sliderOrder.compactMap { made[$0] }.map { (1, $0 as any View) }))
        super.init(title: "Prompt", shell: shell)
        state.userPrompt = editor.text
        editor.moveCursor(to: TextEditor.Position(line: 0, column: 0))
        for p in Self.sliderOrder {
            made[p]?.onChange = { [weak self] v in self?.sliderMoved(p, to: v) }
        }
        editor.onChange = { [weak self] text in self?.state.userPrompt = text; self?.promptEdited() }
        system.onChange = { [weak self] text in self?.state.systemPrompt = text; self?.promptEdited() }
        let left = Split(.vertical, [(.fixed(4), Panel("System", system)), (.weight(1), Panel("Prompt", editor)),
                                     (.fixed(Self.sliderOrder.count + 2), samplingPanel)])
        let right = Split(.vertical, [(.weight(1), outputPanel), (.fixed(5), Panel("Tokens", stats))])
        let split = Split(.horizontal, [(.weight(1), left), (.weight(1), right)])
        split.resizable = true
        body = split
    }

    override var focusables: [any View] { [system, editor] + Self.sliderOrder.compactMap { sliders[$0] } }
    override var paneHints: [KeyHint] {
        [KeyHint("Ctrl-R", "run"), KeyHint("Esc", "stop"), KeyHint("Ctrl-O", "auto re-run"), KeyHint("Ctrl-U/Ctrl-D", "scroll output")]
    }
    override var activeJobDescription: String? { state.runningJob == nil ? nil : "a generation" }

    override var commands: [PaletteCommand] {
        [PaletteCommand("prompt run", detail: "generate with the current prompt and sliders") { [weak self] in self?.run() },
         PaletteCommand("prompt stop", detail: "stop the running generation") { [weak self] in self?.stop() },
         PaletteCommand("prompt auto re-run", detail: "toggle re-running when a slider moves") { [weak self] in self?.toggleAuto() }]
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        switch (key.key, key.modifiers) {
        case (.character("r"), .control), (.function(5), []): run()
        case (.escape, []), (.character("x"), .control):
            guard state.runningJob != nil else { return .ignored }
            stop()
        case (.character("o"), .control): toggleAuto()
        case (.character("u"), .control): output.scrollBy(max(1, output.lastHeight - 1))
        case (.character("d"), .control): output.scrollBy(-max(1, output.lastHeight - 1))
        default: return .ignored
        }
        return .handled
    }

    // MARK: Actions

    func run() {
        if let job = state.runningJob {
            shell.jobs.cancel(job)
            rerunPending = true
            return
        }
        guard shell.host.model != nil else {
            state.error = WorkbenchError.noModel.description
            return
        }
        let request = GenerationRequest(system: state.systemPrompt, user: state.userPrompt, parameters: state.parameters)
        let host = shell.host
        let id = shell.jobs.start(.generation, title: "prompt") { ctx in
            try GenerationWork.run([request], host: host, context: ctx)
        }
        state.generationStarted(id)
        output.scroll = 0
    }

    func stop() {
        rerunPending = false
        if let job = state.runningJob { shell.jobs.cancel(job) }
    }

    private func toggleAuto() {
        state.autoRerun.toggle()
        shell.app.toast("Auto re-run \(state.autoRerun ? "on: a slider move re-runs" : "off: a slider move marks the output stale")",
                        kind: .info, seconds: 2)
    }

    private func sliderMoved(_ p: GenerationParameter, to value: Double) {
        guard state.set(p, to: value) else { return }
        // A re-run only makes sense once there is an output to refresh.
        guard state.autoRerun, state.outputSource != nil else { return }
        if state.runningJob != nil {
            rerunPending = true
            if let job = state.runningJob { shell.jobs.cancel(job) }
        } else {
            run()
        }
    }

    private func promptEdited() {
        countRevision += 1
        let revision = countRevision
        let (system, user, host) = (state.systemPrompt, state.userPrompt, shell.host)
        guard host.model != nil else { return }
        shell.jobs.start(.io, title: "count tokens") { ctx in
            try GenerationWork.countTokens(system: system, user: user, revision: revision, host: host, context: ctx)
        }
    }

    override func receive(_ message: JobMessage) {
        switch message.event {
        case let .modelLoaded(model):
            state.contextLength = model.contextLength
            promptEdited()
        case let .tokenCount(revision, count) where revision == countRevision:
            state.promptTokenCount = count
        default: break
        }
        let wasRunning = state.runningJob == message.job
        state.apply(message)
        if wasRunning, case .jobEnded = message.event, rerunPending {
            rerunPending = false
            run()
        }
    }

    // MARK: Drawing

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        var out: [[Span]] = []
        if state.output.isEmpty {
            if state.runningJob != nil {
                out = [[Span("Generating…", .muted)]]
            } else if let error = state.error {
                out = [[Span(error, .error)]]
            } else {
                out = [[Span(shell.host.model == nil ? "Waiting for a model (see the Models pane)." : "Press Ctrl-R to generate.", .muted)]]
            }
        } else {
            out = state.output.split(separator: "\n", omittingEmptySubsequences: false).map { [Span(String($0), .body)] }
            if state.runningJob != nil { out[out.count - 1].append(Span("▍", .accent)) }
            if let error = state.error { out.append([Span(error, .error)]) }
        }
        output.paragraphs = out
        outputPanel.status = state.runningJob != nil ? "streaming" : (state.isStale ? "stale · Ctrl-R to re-run" : (state.lastStats?.stopReason ?? ""))
        samplingPanel.status = state.autoRerun ? "auto re-run" : "manual"

        var promptLine = [Span("prompt ", .muted), Span(state.promptTokenCount.map { "\($0)" } ?? "–", .accent), Span(" tok", .muted)]
        if let reused = state.reusedPromptTokens, reused > 0 { promptLine.append(Span(" (\(reused) from cache)", .muted)) }
        var genLine = [Span("generated ", .muted), Span("\(state.generatedTokens)", .accent), Span(" tok", .muted)]
        if let tps = state.liveTokensPerSecond { genLine += [Span("  ·  ", .muted), Span(String(format: "%.1f", tps), .accent), Span(" tok/s", .muted)] }
        let ctx = state.contextLength
        let used = (state.promptTokenCount ?? 0) + state.generatedTokens
        let fraction = ctx > 0 ? Double(used) / Double(ctx) : 0
        let ctxLine = ctx > 0
            ? [Span("context ", .muted), Span(meter(fraction, width: 12), Style(fraction > 0.9 ? .warning : .accent, on: .surface)),
               Span(String(format: " %d / %d (%.0f%%)", used, ctx, fraction * 100), .muted)]
            : [Span("context –", .muted)]
        stats.paragraphs = [promptLine, genLine, ctxLine]
        super.render(canvas, context)
    }
}
