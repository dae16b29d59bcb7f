import Engine
import Foundation
import Server
import TUI

/// The Deploy pane: start / stop the OpenAI-compatible server on the active model (in this
/// process, as `whet serve` runs it) with its address, status, request count and log; export
/// merged weights as `whet export --merge` does. The server is stopped when the workbench quits.
public final class DeployPane: Pane {
    public internal(set) var state = DeployPaneState()
    let serverHost = ServerHost()
    /// What a start serves with (port from the field; one session, the default embedding model).
    var settings: ServeSettings = {
        var s = ServeSettings()
        s.sessions = 1
        return s
    }()
    let portField = TextEditor(text: "8080", placeholder: "port (0: any free one)", singleLine: true)
    let adapterField = TextEditor(placeholder: "none (a PEFT folder, e.g. a run's adapter/)", singleLine: true)
    let outField = TextEditor(placeholder: "exports/MODEL-merged in the workspace", singleLine: true)
    let dtypeChoice = Choice("dtype", options: ["bf16", "f16", "f32"])
    private let serveInfo = TextBlock()
    private let exportInfo = TextBlock()
    private let logView = TextBlock(followTail: true)
    private let servePanel: Panel
    private let logPanel: Panel

    init(shell: WorkbenchShell) {
        servePanel = Panel("Serve", Split(.vertical, [
            (.fixed(1), Split(.horizontal, [(.fixed(6), Label("port")), (.weight(1), portField)])),
            (.weight(1), serveInfo)]))
        let exportPanel = Panel("Export merged weights", Split(.vertical, [
            (.fixed(1), Split(.horizontal, [(.fixed(9), Label("adapter")), (.weight(1), adapterField)])),
            (.fixed(1), Split(.horizontal, [(.fixed(9), Label("out")), (.weight(1), outField)])),
            (.fixed(1), dtypeChoice),
            (.weight(1), exportInfo)]))
        logPanel = Panel("Requests", logView)
        super.init(title: "Deploy", shell: shell)
        portField.onSubmit = { [weak self] _ in self?.startServer() }
        let left = Split(.vertical, [(.weight(1), servePanel), (.fixed(8), exportPanel)])
        let split = Split(.horizontal, [(.weight(1), left), (.weight(1), logPanel)])
        split.resizable = true
        body = split
    }

    override var focusables: [any View] { [portField, adapterField, outField, dtypeChoice] }
    override var paneHints: [KeyHint] {
        [KeyHint("Ctrl-R", "start server"), KeyHint("Ctrl-X", "stop server"), KeyHint("Ctrl-W", "export"),
         KeyHint("Ctrl-U/Ctrl-D", "scroll log")]
    }
    override var activeJobDescription: String? {
        if case let .running(info) = state.server { return "the server on \(info.url)" }
        if state.server == .starting { return "the server (starting)" }
        if case .running = state.export { return "an export" }
        return nil
    }
    override var commands: [PaletteCommand] {
        [PaletteCommand("deploy start server", detail: "serve the active model over HTTP (OpenAI API)") { [weak self] in self?.startServer() },
         PaletteCommand("deploy stop server", detail: "stop the workbench's server") { [weak self] in self?.stopServer() },
         PaletteCommand("deploy export", detail: "write merged Hugging Face safetensors (whet export --merge)") { [weak self] in self?.export() }]
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        switch (key.key, key.modifiers) {
        case (.character("r"), .control): startServer()
        case (.character("x"), .control): stopServer()
        case (.character("w"), .control): export()
        case (.character("u"), .control): logView.scrollBy(max(1, logView.lastHeight - 1))
        case (.character("d"), .control): logView.scrollBy(-max(1, logView.lastHeight - 1))
        default: return .ignored
        }
        return .handled
    }

    // MARK: Actions

    func startServer() {
        guard !state.isServing else { return }
        guard let model = shell.activeModel else {
            state.server = .failed(WorkbenchError.noModel.description)
            return
        }
        let text = portField.text.trimmingCharacters(in: .whitespaces)
        guard let port = Int(text), (0...65535).contains(port) else {
            state.server = .failed("the port must be a number from 0 to 65535 (0 picks a free one); got '\(text)'")
            return
        }
        var chosen = settings
        chosen.port = port
        let (host, settings) = (serverHost, chosen)
        let id = shell.jobs.start(.io, title: "start server") { ctx in
            try host.start(modelPath: model.path, settings: settings, context: ctx)
        }
        state.serverStarting(id)
    }

    func stopServer() {
        guard case .running = state.server else { return }
        state.server = .stopping
        let host = serverHost
        // Off the UI thread: closing waits for the server's connections.
        Thread.detachNewThread { host.stopNow(timeout: 10) }
    }

    func export() {
        if case .running = state.export { return }
        guard let model = shell.activeModel else {
            state.export = .failed(WorkbenchError.noModel.description)
            return
        }
        let adapter = adapterField.text.trimmingCharacters(in: .whitespaces)
        let out = outField.text.trimmingCharacters(in: .whitespaces)
        let base = shell.configuration.workspace ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        // Relative paths are relative to the workspace (runs/ and exports/ live there).
        func resolve(_ path: String) -> URL {
            URL(fileURLWithPath: (path as NSString).expandingTildeInPath, isDirectory: true, relativeTo: base).standardizedFileURL
        }
        let folder = out.isEmpty ? base.appendingPathComponent("exports/\(model.name)-merged", isDirectory: true) : resolve(out)
        let adapterPath = adapter.isEmpty ? nil : resolve(adapter).path
        let dtype: SafetensorsWriter.DType = [.bf16, .f16, .f32][dtypeChoice.selected]
        let path = model.path
        state.export = .running(folder: folder.path)
        state.exportJob = shell.jobs.start(.export, title: "export") { ctx in
            try ExportWork.run(model: path, adapter: adapterPath, folder: folder, dtype: dtype, context: ctx)
        }
    }

    override func receive(_ message: JobMessage) {
        state.apply(message)
    }

    override func willQuit() {
        serverHost.stopNow(timeout: 5)
    }

    // MARK: Drawing

    /// Local wall-clock time of a log line.
    static func clock(_ date: Date) -> String {
        let c = Calendar.current.dateComponents([.hour, .minute, .second], from: date)
        return String(format: "%02d:%02d:%02d", c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        let model = shell.activeModel?.name
        var lines: [[Span]] = [[Span("model  ", .muted), Span(model ?? "no model open (Models pane)", model == nil ? .warning : .accent)]]
        switch state.server {
        case .stopped:
            lines.append([Span("status ", .muted), Span("stopped", .body)])
            lines.append([Span("Ctrl-R serves the active model on 127.0.0.1 over the OpenAI API (/v1), from this workbench "
                               + "as `whet serve` does.", .muted)])
        case .starting:
            lines.append([Span("status ", .muted), Span("starting…", .warning)])
        case let .running(info):
            lines.append([Span("status ", .muted), Span("listening", .success), Span(" on ", .muted), Span(info.url, .accent)])
            lines.append([Span("serves ", .muted), Span(info.models.joined(separator: ", "), .body),
                          Span(" · \(info.sessions) session\(info.sessions == 1 ? "" : "s")", .muted)])
            lines.append([Span("try    ", .muted), Span("curl \(info.url)/models", .body)])
        case .stopping:
            lines.append([Span("status ", .muted), Span("stopping…", .warning)])
        case let .failed(reason):
            lines.append([Span("status ", .muted), Span(reason, .error)])
        }
        lines.append([Span("requests ", .muted), Span("\(state.requestCount)", .accent)])
        lines.append([Span("Ctrl-R start · Ctrl-X stop · stopped on quit", .muted)])
        serveInfo.paragraphs = lines
        servePanel.status = { switch state.server {
            case .running: return "running"
            case .starting: return "starting"
            case .stopping: return "stopping"
            case .failed: return "failed"
            case .stopped: return "stopped"
        } }()

        switch state.export {
        case .idle:
            exportInfo.paragraphs = [[Span("Ctrl-W writes model.safetensors + config.json (whet export --merge).", .muted)]]
        case let .running(folder):
            exportInfo.paragraphs = [[Span("exporting to \(folder)…", .warning)]]
        case let .finished(r):
            exportInfo.paragraphs = [[Span("wrote \(r.tensors) tensors (\(formatCount(r.parameters)) parameters, \(formatBytes(r.bytes))) to ", .success),
                                      Span(r.folder, .body)]]
        case let .failed(reason):
            exportInfo.paragraphs = [[Span(reason, .error)]]
        }

        if state.log.isEmpty {
            logView.paragraphs = [[Span(state.isServing ? "No requests yet." : "The server's requests appear here.", .muted)]]
        } else {
            logView.paragraphs = state.log.map { entry in
                let time = Span(Self.clock(entry.date) + " ", .muted)
                switch entry.kind {
                case let .request(method, path, status, seconds):
                    return [time, Span("\(method) \(path) ", .body), Span("\(status)", status < 400 ? .success : .error),
                            Span(String(format: " %.2fs", seconds), .muted)]
                case let .message(level, text):
                    return [time, Span("\(level): \(text)", level == "notice" ? .muted : .warning)]
                }
            }
        }
        logPanel.status = "\(state.requestCount) request\(state.requestCount == 1 ? "" : "s")"
        super.render(canvas, context)
    }
}
