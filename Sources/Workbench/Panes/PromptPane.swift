import Foundation
import TUI

/// The Prompt pane: system prompt and prompt editors, live sampler sliders, streamed output with
/// token counter, tokens per second and context meter. Ctrl-R runs; a slider move re-runs at once
/// (auto re-run) or marks the output stale; Esc or Ctrl-X stops. With retrieval on (Ctrl-G), a run
/// first retrieves passages from the workspace's `.whet-rag` index and answers from them, as
/// `whet rag ask` does; the passages are listed under the output.
public final class PromptPane: Pane {
    public internal(set) var state = PromptPaneState(contextLength: 0)
    let system = TextEditor(placeholder: "System prompt (optional)")
    let editor = TextEditor(text: "Write a short poem about sharpening a knife on a whetstone.", placeholder: "Prompt")
    let sliders: [GenerationParameter: Slider]
    static let sliderOrder: [GenerationParameter] = [.temperature, .maxTokens, .topP, .topK, .minP, .repeatPenalty]
    /// Stop sequences, comma-separated (`\n` newline, `\,` comma); Enter re-runs.
    let stopField = TextEditor(placeholder: "none (a, b; \\n newline)", singleLine: true)
    private let output = TextBlock(followTail: true)
    private let stats = TextBlock()
    private let outputPanel: Panel
    private let samplingPanel: Panel
    let retrievalChoice = Choice("retrieval", options: ["off", "on"])
    private let retrieved = TextBlock()
    private let retrievedPanel: Panel
    private let rightColumn: Split
    let retrieval: RetrievalHost
    private var retrievalOpenJob: JobID?
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
        samplingPanel = Panel("Sampling", rows(Self.sliderOrder.compactMap { made[$0] }.map { (1, $0 as any View) }
                                               + [(1, Split(.horizontal, [(.fixed(5), Label("stop")), (.weight(1), stopField)])),
                                                  (1, retrievalChoice as any View)]))
        retrievedPanel = Panel("Retrieved", retrieved)
        rightColumn = Split(.vertical, [])
        retrieval = RetrievalHost(indexFolder: shell.configuration.ragIndexFolder)
        super.init(title: "Prompt", shell: shell)
        state.userPrompt = editor.text
        editor.moveCursor(to: TextEditor.Position(line: 0, column: 0))
        for p in Self.sliderOrder {
            made[p]?.onChange = { [weak self] v in self?.sliderMoved(p, to: v) }
        }
        editor.onChange = { [weak self] text in self?.state.userPrompt = text; self?.promptEdited() }
        system.onChange = { [weak self] text in self?.state.systemPrompt = text; self?.promptEdited() }
        retrievalChoice.onChange = { [weak self] i in self?.setRetrieval(i == 1) }
        // Typing marks the output stale; Enter re-runs (with auto re-run on), as a slider move does.
        stopField.onChange = { [weak self] line in self?.state.parameters.stop = GenerationParameters.parseStopSequences(line) }
        stopField.onSubmit = { [weak self] _ in self?.settingsChanged() }
        let left = Split(.vertical, [(.fixed(4), Panel("System", system)), (.weight(1), Panel("Prompt", editor)),
                                     (.fixed(Self.sliderOrder.count + 4), samplingPanel)])
        let split = Split(.horizontal, [(.weight(1), left), (.weight(1), rightColumn)])
        split.resizable = true
        body = split
        layOutRightColumn()
    }

    /// Output, the retrieved passages when retrieval is on, token figures.
    private func layOutRightColumn() {
        var children: [(constraint: LayoutConstraint, view: any View)] = [(.weight(1), outputPanel)]
        // Two lines per passage: a citation often wraps.
        if state.retrievalEnabled { children.append((.fixed(2 * state.retrievalK + 2), retrievedPanel)) }
        children.append((.fixed(5), Panel("Tokens", stats)))
        rightColumn.children = children
    }

    override var focusables: [any View] { [system, editor] + Self.sliderOrder.compactMap { sliders[$0] } + [stopField, retrievalChoice] }
    override var paneHints: [KeyHint] {
        [KeyHint("Ctrl-R", "run"), KeyHint("Esc", "stop"), KeyHint("Ctrl-O", "auto re-run"), KeyHint("Ctrl-G", "retrieval"),
         KeyHint("Ctrl-U/Ctrl-D", "scroll output")]
    }
    override var activeJobDescription: String? { state.runningJob == nil ? nil : "a generation" }

    override var commands: [PaletteCommand] {
        [PaletteCommand("prompt run", detail: "generate with the current prompt and sliders") { [weak self] in self?.run() },
         PaletteCommand("prompt stop", detail: "stop the running generation") { [weak self] in self?.stop() },
         PaletteCommand("prompt auto re-run", detail: "toggle re-running when a slider moves") { [weak self] in self?.toggleAuto() },
         PaletteCommand("prompt retrieval", detail: "toggle answering from the workspace's retrieval index (whet rag index)") { [weak self] in
             self?.toggleRetrieval()
         }]
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        switch (key.key, key.modifiers) {
        case (.character("r"), .control), (.function(5), []): run()
        case (.escape, []), (.character("x"), .control):
            guard state.runningJob != nil else { return .ignored }
            stop()
        case (.character("o"), .control): toggleAuto()
        case (.character("g"), .control): toggleRetrieval()
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
        let id: JobID
        if state.retrievalEnabled {
            let (retrieval, k) = (retrieval, state.retrievalK)
            id = shell.jobs.start(.generation, title: "prompt with retrieval") { ctx in
                try GenerationWork.runWithRetrieval(request, k: k, retrieval: retrieval, host: host, context: ctx)
            }
        } else {
            id = shell.jobs.start(.generation, title: "prompt") { ctx in
                try GenerationWork.run([request], host: host, context: ctx)
            }
        }
        state.generationStarted(id)
        output.scroll = 0
    }

    /// Replaces the prompt text (as typing would).
    func setPrompt(_ text: String) {
        editor.setText(text)
        state.userPrompt = text
        promptEdited()
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

    func toggleRetrieval() { setRetrieval(!state.retrievalEnabled) }

    /// Switches retrieval; switching it on opens the index (io queue) so the pane can say what it
    /// holds — or how to build it — before the first run.
    func setRetrieval(_ on: Bool) {
        guard on != state.retrievalEnabled else { return }
        state.retrievalEnabled = on
        retrievalChoice.select(on ? 1 : 0)
        layOutRightColumn()
        if on {
            let retrieval = retrieval
            retrievalOpenJob = shell.jobs.start(.io, title: "open retrieval index") { ctx in try retrieval.open(context: ctx) }
        }
        settingsChanged()
    }

    private func sliderMoved(_ p: GenerationParameter, to value: Double) {
        guard state.set(p, to: value) else { return }
        settingsChanged()
    }

    /// A setting of the output changed: re-run (auto re-run) or leave the output marked stale.
    private func settingsChanged() {
        // The state's rules: only an output that no longer matches the settings is refreshed.
        if state.wantsRestart, let job = state.runningJob {
            rerunPending = true
            shell.jobs.cancel(job)
        } else if state.wantsRerun {
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
        case let .retrievalIndex(status):
            state.retrievalIndex = status
        case let .jobEnded(_, .failed(reason)) where message.job == retrievalOpenJob:
            // A missing index was already posted as `.missing`; anything else is an error to show.
            if case .missing = state.retrievalIndex {} else { state.error = reason }
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
        let (ctx, used, fraction) = (state.contextLength, state.contextUsedTokens, state.contextFraction)
        let ctxLine = ctx > 0
            ? [Span("context ", .muted), Span(meter(fraction, width: 12), Style(fraction > 0.9 ? .warning : .accent, on: .surface)),
               Span(String(format: " %d / %d (%.0f%%)", used, ctx, fraction * 100), .muted)]
            : [Span("context –", .muted)]
        stats.paragraphs = [promptLine, genLine, ctxLine]
        if state.retrievalEnabled { renderRetrieved() }
        super.render(canvas, context)
    }

    private func renderRetrieved() {
        retrievedPanel.status = "top \(state.retrievalK)"
        if !state.retrievedChunks.isEmpty {
            retrieved.paragraphs = state.retrievedChunks.map {
                [Span("[\($0.rank)] ", .accent), Span(String(format: "%.3f ", $0.score), .muted), Span($0.citation, .body)]
            }
            return
        }
        switch state.retrievalIndex {
        case let .missing(folder):
            retrieved.paragraphs = [[Span("No retrieval index in \(folder).", .warning)],
                                    [Span("Build one: ", .muted), Span("whet rag index DIR --index \(folder)", .accent)]]
        case let .ready(_, chunks, documents, model):
            retrieved.paragraphs = [[Span("\(chunks) chunks from \(documents) documents (\(model)).", .body)],
                                    [Span("Ctrl-R retrieves the top \(state.retrievalK) for the prompt and answers from them.", .muted)]]
        case nil:
            retrieved.paragraphs = [[Span("Opening the retrieval index…", .muted)]]
        }
    }
}
