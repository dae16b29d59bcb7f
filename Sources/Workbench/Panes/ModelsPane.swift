import Foundation
import TUI

/// The Models pane: the installed models (file headers inspected on a job queue) with their
/// architecture class, parameters, quantization, context and size; Enter makes one the active
/// model for Prompt and Compare.
public final class ModelsPane: Pane {
    public private(set) var listings: [ModelListing] = []
    private var listed = false
    let table = Table(columns: [
        Table.Column("", width: .fixed(1)), Table.Column("name", width: .weight(3)), Table.Column("architecture", width: .weight(2)),
        Table.Column("class", width: .weight(2)), Table.Column("params", width: .fixed(7), alignRight: true),
        Table.Column("quantization", width: .weight(3)), Table.Column("context", width: .fixed(7), alignRight: true),
        Table.Column("size", width: .fixed(10), alignRight: true),
    ])
    private let detail = TextBlock()
    private let tablePanel: Panel

    init(shell: WorkbenchShell) {
        tablePanel = Panel("Installed models", table)
        super.init(title: "Models", shell: shell)
        table.emptyMessage = "Looking for models…"
        table.onActivate = { [weak self] row in self?.choose(row) }
        body = Split(.vertical, [(.weight(1), tablePanel), (.fixed(6), Panel("Details", detail))])
    }

    override var focusables: [any View] { [table] }
    override var paneHints: [KeyHint] { [KeyHint("Enter", "use model"), KeyHint("Ctrl-L", "rescan")] }
    override var commands: [PaletteCommand] {
        [PaletteCommand("models rescan", detail: "look for installed models again") { [weak self] in self?.scan() }]
    }

    override func didAppear() {
        if !listed { scan() }
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        guard key == .control("l") else { return .ignored }
        scan()
        return .handled
    }

    func scan() {
        listed = true
        let find = shell.configuration.installedModels
        shell.jobs.start(.io, title: "list models") { ctx in GenerationWork.listModels(find(), context: ctx) }
    }

    private func choose(_ row: Int) {
        guard listings.indices.contains(row) else { return }
        let m = listings[row]
        if let error = m.error { shell.app.toast("\(m.name) cannot be used: \(error)"); return }
        shell.openModel(m.path)
    }

    override func receive(_ message: JobMessage) {
        if case let .modelsListed(rows) = message.event {
            listings = rows
            table.emptyMessage = "No models installed: run `make setup`, or put .gguf files in ./models or $WHET_HOME/models."
        }
    }

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        let active = shell.activeModel?.path
        table.setRows(listings.map { m in
            [m.path == active ? "●" : "", m.name, m.architecture ?? "unreadable", m.architectureClass ?? "–",
             m.parameters.map(formatCount) ?? "–", m.quantization ?? "–", m.contextLength.map { "\($0)" } ?? "–",
             m.fileBytes.map(formatBytes) ?? "–"]
        })
        tablePanel.status = "\(listings.count) found"
        if let row = table.selectedRow, listings.indices.contains(row) {
            let m = listings[row]
            var lines: [[Span]] = [[Span("path ", .muted), Span(m.path, .body)]]
            if let error = m.error {
                lines.append([Span("cannot read: ", .error), Span(error, .body)])
            } else {
                let generates = m.architecture == "gemma3"
                lines.append([Span("generation ", .muted),
                              Span(generates ? "supported (Prompt, Compare)" : "not supported for this architecture yet", generates ? .success : .warning)])
                if m.path == active { lines.append([Span("active model", .accent)]) }
                else { lines.append([Span("Enter makes it the active model", .muted)]) }
            }
            detail.paragraphs = lines
        } else {
            detail.paragraphs = [[Span(shell.activeModel.map { "Active: \($0.name)" } ?? "No model open.", .muted)]]
        }
        super.render(canvas, context)
    }
}
