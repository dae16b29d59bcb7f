import Evaluation
import Foundation
import TUI
import Workspace

/// The Compare pane: the same input through two to four configurations of the active model, side by
/// side — each column its own sampling and, with `m`, a LoRA adapter from the workspace's runs (the
/// base against a fine-tune); the first two columns show a word diff (words only in A, words only in B). `a` / `b` / `t`
/// record which answer is better (or a tie) in the workspace as a preference pick, exported as DPO
/// data with `WorkspaceStore.exportPreferences`.
public final class ComparePane: Pane {
    public private(set) var state: ComparePaneState
    let input = TextEditor(text: "Explain in two sentences why a whetstone needs water.", placeholder: "Input for every column")
    let columnsView: CompareColumnsView
    private let inputPanel: Panel

    static func defaultColumns() -> (CompareColumn, CompareColumn) {
        var greedy = GenerationParameters()
        greedy.temperature = 0
        greedy.maxTokens = 96
        var warm = GenerationParameters()
        warm.temperature = 0.9
        warm.maxTokens = 96
        return (CompareColumn(label: "A", model: "active", parameters: greedy),
                CompareColumn(label: "B", model: "active", parameters: warm))
    }

    init(shell: WorkbenchShell) {
        let (a, b) = Self.defaultColumns()
        state = ComparePaneState(pair: a, b)
        columnsView = CompareColumnsView()
        inputPanel = Panel("Input", input)
        super.init(title: "Compare", shell: shell)
        state.input = input.text
        input.onChange = { [weak self] t in self?.state.input = t }
        columnsView.pane = self
        body = Split(.vertical, [(.fixed(5), inputPanel), (.weight(1), columnsView)])
    }

    override var focusables: [any View] { [input, columnsView] }
    override var paneHints: [KeyHint] {
        [KeyHint("Ctrl-R", "run all"), KeyHint("a/b/t", "A better / B better / tie"), KeyHint("+/-", "columns"), KeyHint("←→ [ ]", "column temperature")]
    }
    override var activeJobDescription: String? { state.runningJob == nil ? nil : "a comparison" }
    override var commands: [PaletteCommand] {
        [PaletteCommand("compare run", detail: "run every column on the input") { [weak self] in self?.run() },
         PaletteCommand("compare pick A", detail: "A is better (saved as a preference pair)") { [weak self] in self?.pick(.a) },
         PaletteCommand("compare pick B", detail: "B is better (saved as a preference pair)") { [weak self] in self?.pick(.b) }]
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        switch (key.key, key.modifiers) {
        case (.character("r"), .control): run()
        case (.escape, []) where state.runningJob != nil: if let j = state.runningJob { shell.jobs.cancel(j) }
        default: return .ignored
        }
        return .handled
    }

    func run() {
        guard shell.host.model != nil else { shell.app.toast(WorkbenchError.noModel.description); return }
        if let j = state.runningJob { shell.jobs.cancel(j) }
        let requests = self.requests()
        let host = shell.host
        let id = shell.jobs.start(.generation, title: "compare") { ctx in try GenerationWork.run(requests, host: host, context: ctx) }
        state.startRound(id)
    }

    /// One generation per column, with the column's parameters and adapter.
    func requests() -> [GenerationRequest] {
        state.columns.enumerated().map { i, c in
            GenerationRequest(system: "", user: state.input, parameters: c.parameters, slot: i, adapter: c.adapter)
        }
    }

    /// PEFT adapters a column can put on the active model: `adapter/` of the workspace's runs,
    /// newest first (what the Train pane and `whet train lora|dpo|rlhf --out WORKSPACE/runs/NAME` write).
    func availableAdapters() -> [URL] {
        let runs = TrainerCatalog.runsFolder(workspace: shell.configuration.workspace)
        let folders = (try? FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: [.contentModificationDateKey])) ?? []
        let adapters = folders.map { $0.appendingPathComponent("adapter", isDirectory: true) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("adapter_config.json").path) }
        func modified(_ url: URL) -> Date {
            (try? url.appendingPathComponent("adapter_config.json").resourceValues(forKeys: [.contentModificationDateKey]))?.contentModificationDate ?? .distantPast
        }
        return adapters.sorted { modified($0) > modified($1) }
    }

    /// Steps the column's adapter through none → each available adapter → none.
    func cycleAdapter(column: Int) {
        guard state.columns.indices.contains(column) else { return }
        let choices: [String?] = [nil] + availableAdapters().map(\.path)
        guard choices.count > 1 else {
            shell.app.toast("No adapters in \(TrainerCatalog.runsFolder(workspace: shell.configuration.workspace).path)/*/adapter: train one in the Train pane")
            return
        }
        var columns = state.columns
        let current = choices.firstIndex { $0 == columns[column].adapter } ?? 0
        columns[column].adapter = choices[(current + 1) % choices.count]
        replaceColumns(columns)
    }

    /// Sets the token budget of every column.
    func setMaxTokens(_ n: Int) {
        var columns = state.columns
        for i in columns.indices { columns[i].parameters[.maxTokens] = Double(n) }
        replaceColumns(columns)
    }

    private func replaceColumns(_ columns: [CompareColumn]) {
        guard var s = try? ComparePaneState(columns: columns) else { return }
        s.input = state.input
        s.runningJob = state.runningJob
        state = s
    }

    func addColumn() {
        var p = GenerationParameters()
        p.temperature = 1.2
        p.maxTokens = 96
        let label = String(UnicodeScalar(UInt8(65 + state.columns.count)))
        do { try state.addColumn(CompareColumn(label: label, model: "active", parameters: p)) } catch { shell.app.toast("\(error)") }
    }

    func removeColumn() {
        do { try state.removeColumn(at: state.columns.count - 1) } catch { shell.app.toast("\(error)") }
    }

    func nudgeTemperature(column: Int, by steps: Int) {
        guard state.columns.indices.contains(column) else { return }
        var columns = state.columns
        columns[column].parameters[.temperature] = columns[column].parameters.temperature + Double(steps) * GenerationParameter.temperature.step
        replaceColumns(columns)
    }

    func pick(_ choice: PreferenceChoice) {
        let pair: (prompt: String, chosen: String, rejected: String)
        do {
            pair = try state.preference(preferA: choice != .b)
        } catch {
            shell.app.toast("\(error)")
            return
        }
        guard let folder = shell.configuration.workspace else {
            shell.app.toast("No workspace: start whet with --workspace DIR to save preference pairs")
            return
        }
        let (a, b) = (state.columns[0], state.columns[1])
        func config(_ c: CompareColumn) -> String {
            var fields: [String: Any] = ["model": shell.activeModel?.name ?? c.model, "temperature": c.parameters.temperature,
                                         "top_p": c.parameters.topP, "top_k": c.parameters.topK, "max_tokens": c.parameters.maxTokens]
            if let adapter = c.adapter { fields["adapter"] = adapter }
            let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
            return String(decoding: data, as: UTF8.self)
        }
        let (configA, configB) = (config(a), config(b))
        let project = shell.configuration.projectName
        let prompt = pair.prompt
        shell.jobs.start(.io, title: "save pick") { ctx in
            let store = try WorkspaceStore(folder: folder)
            let projectId = try store.project(named: project).id ?? 0
            let saved = try store.record(pick: PreferencePick(projectId: projectId, prompt: prompt, outputA: a.output, outputB: b.output,
                                                              configA: configA, configB: configB, choice: choice))
            ctx.post(.notice("Saved preference pick #\(saved.id ?? 0) (\(choice.rawValue)) to \(folder.lastPathComponent)/whet.sqlite"))
        }
    }

    override func receive(_ message: JobMessage) { state.apply(message) }

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        inputPanel.status = state.runningJob != nil ? "running" : "\(state.columns.count) configurations"
        super.render(canvas, context)
    }
}

/// The columns of the Compare pane, each a bordered box with its settings, output and figures.
final class CompareColumnsView: View {
    weak var pane: ComparePane?
    var selected = 0

    var acceptsFocus: Bool { true }
    var keyHints: [KeyHint] { [KeyHint("←→", "column"), KeyHint("[ ]", "temperature"), KeyHint("m", "adapter"), KeyHint("a/b/t", "pick")] }

    func handle(_ event: InputEvent) -> EventResult {
        guard let pane else { return .ignored }
        switch event {
        case .key(let k) where k.modifiers.isEmpty:
            switch k.key {
            case .left: selected = max(0, selected - 1)
            case .right: selected = min(pane.state.columns.count - 1, selected + 1)
            case .character("a"): pane.pick(.a)
            case .character("b"): pane.pick(.b)
            case .character("t"): pane.pick(.tie)
            case .character("+"): pane.addColumn()
            case .character("-"): pane.removeColumn(); selected = min(selected, pane.state.columns.count - 1)
            case .character("["): pane.nudgeTemperature(column: selected, by: -2)
            case .character("]"): pane.nudgeTemperature(column: selected, by: 2)
            case .character("m"): pane.cycleAdapter(column: selected)
            default: return .ignored
            }
            return .handled
        default: return .ignored
        }
    }

    func render(_ canvas: Canvas, _ context: RenderContext) {
        canvas.fill(style: .body)
        guard let pane else { return }
        let columns = pane.state.columns
        let rects = canvas.bounds.columns(columns.map { _ in LayoutConstraint.weight(1) })
        let diff = columns.count >= 2 && !columns[0].output.isEmpty && !columns[1].output.isEmpty ? pane.state.diff(0, 1) : []
        let focused = context.isFocused(self)
        for (i, (rect, c)) in zip(rects, columns).enumerated() {
            let p = c.parameters
            var title = "\(c.label) · temp \(GenerationParameter.temperature.format(p.temperature)) · top-p \(GenerationParameter.topP.format(p.topP))"
            if let adapter = c.adapter {
                // runs/NAME/adapter → NAME: the run says which fine-tune this is.
                title += " · +\(URL(fileURLWithPath: adapter).deletingLastPathComponent().lastPathComponent)"
            }
            let inner = canvas.box(rect, title: title, focused: focused && i == selected)
            guard !inner.isEmpty else { continue }
            var spans: [[Span]]
            if i < 2 && !diff.isEmpty {
                // Column A shows what B lacks (removed), column B what A lacks (added).
                var line: [Span] = []
                for seg in diff {
                    switch (seg.kind, i) {
                    case (.same, _): line.append(Span(seg.text, .body))
                    case (.removed, 0): line.append(Span(seg.text, Style(.error, on: .surface, [.bold, .underline])))
                    case (.added, 1): line.append(Span(seg.text, Style(.success, on: .surface, [.bold, .underline])))
                    default: break
                    }
                }
                spans = Self.splitLines(line)
            } else if c.output.isEmpty {
                spans = [[Span(pane.state.runningJob != nil ? "waiting…" : "Ctrl-R runs every column", .muted)]]
            } else {
                spans = Self.splitLines([Span(c.output, .body)])
            }
            if let s = c.stats {
                spans.append([])
                spans.append([Span("\(s.generatedTokens) tok · \(String(format: "%.1f", s.tokensPerSecond)) tok/s · \(s.stopReason)", .muted)])
            }
            let block = TextBlock(spans)
            context.render(block, in: canvas.child(inner.inset(left: 1, right: 1)))
        }
    }

    /// Splits spans at newlines into paragraphs.
    static func splitLines(_ spans: [Span]) -> [[Span]] {
        var out: [[Span]] = [[]]
        for s in spans {
            let parts = s.text.split(separator: "\n", omittingEmptySubsequences: false)
            for (j, part) in parts.enumerated() {
                if j > 0 { out.append([]) }
                if !part.isEmpty { out[out.count - 1].append(Span(String(part), s.style)) }
            }
        }
        return out
    }
}
