import Engine
import Foundation
import Retrieval
import TUI

/// What the workbench starts with. `whet` fills it from its flags; tests pass fixed values so
/// snapshots do not depend on the machine.
public struct WorkbenchConfiguration {
    /// Model opened at start (name or path); nil opens none until one is chosen in Models.
    public var modelName: String?
    /// Workspace folder (whet.sqlite, runs/); nil: notes and picks cannot be saved.
    public var workspace: URL?
    /// Lists the installed models (ModelLocator.installed by default).
    public var installedModels: @Sendable () -> [URL]
    public var themes: ThemeLibrary
    /// Appends one line per answered input event (key-to-screen latency) when set.
    public var latencyLog: URL?
    /// Project the workspace records go to.
    public var projectName: String
    /// Retrieval index of the Prompt pane (`whet rag index` output); nil: `.whet-rag` in the
    /// workspace, else in the current folder.
    public var ragIndex: URL?

    /// The index folder the Prompt pane retrieves from.
    public var ragIndexFolder: URL {
        ragIndex ?? (workspace ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
            .appendingPathComponent(Retriever.defaultIndexFolderName, isDirectory: true)
    }

    public init(modelName: String? = ModelLocator.defaultModelName, workspace: URL? = nil,
                installedModels: @escaping @Sendable () -> [URL] = { ModelLocator.installed() },
                themes: ThemeLibrary = .standard(), latencyLog: URL? = nil, projectName: String = "default") {
        self.modelName = modelName
        self.workspace = workspace
        self.installedModels = installedModels
        self.themes = themes
        self.latencyLog = latencyLog
        self.projectName = projectName
    }
}

/// The workbench: seven panes in tabs over one `Application`, the job runner whose message queue
/// the application drains, the open model, theme switching, the command palette and the latency log.
///
/// Global keys: Tab / Shift-Tab next / previous pane; 1–7 (outside text fields), Alt-1…7 or F1…F7
/// jump to a pane; `?` help; `:` command palette; `q` (outside text fields) or Ctrl-Q quit, asking
/// first when a job runs; Ctrl-T next theme; Ctrl-C like q (a second Ctrl-C at the question quits at once).
public final class WorkbenchShell {
    public let app: Application
    public let jobs: JobRunner
    public let host = ModelHost()
    public let configuration: WorkbenchConfiguration
    public private(set) var activeModel: ActiveModel?
    public private(set) var loadingModel: String?
    private var loadJob: JobID?
    let tabs: Tabs
    private(set) var panes: [Pane] = []
    private let status = StatusLine()
    private var themeNames: [String] = []
    public private(set) var latency: LatencyLog?

    // Built right after the stored properties above, so each pane can keep a reference to the shell;
    // set once in `init` and never nil after it returns, hence implicitly unwrapped.
    // swift-format-ignore: NeverUseImplicitlyUnwrappedOptionals
    public private(set) var scope: ScopePane!
    // swift-format-ignore: NeverUseImplicitlyUnwrappedOptionals
    public private(set) var models: ModelsPane!
    // swift-format-ignore: NeverUseImplicitlyUnwrappedOptionals
    public private(set) var prompt: PromptPane!
    // swift-format-ignore: NeverUseImplicitlyUnwrappedOptionals
    public private(set) var train: TrainPane!
    // swift-format-ignore: NeverUseImplicitlyUnwrappedOptionals
    public private(set) var evaluate: EvaluatePane!
    // swift-format-ignore: NeverUseImplicitlyUnwrappedOptionals
    public private(set) var compare: ComparePane!
    // swift-format-ignore: NeverUseImplicitlyUnwrappedOptionals
    public private(set) var deploy: DeployPane!

    public init(backend: any TerminalBackend, configuration: WorkbenchConfiguration, theme: Theme = .defaultDark) {
        self.configuration = configuration
        jobs = JobRunner()
        tabs = Tabs([])
        app = Application(backend: backend, root: Label(""), theme: theme)
        scope = ScopePane(shell: self)
        models = ModelsPane(shell: self)
        prompt = PromptPane(shell: self)
        train = TrainPane(shell: self)
        evaluate = EvaluatePane(shell: self)
        compare = ComparePane(shell: self)
        deploy = DeployPane(shell: self)
        panes = [scope, models, prompt, train, evaluate, compare, deploy]
        tabs.pages = panes.map { (title: $0.title, view: $0 as any View) }
        tabs.onChange = { [weak self] i in self?.paneChanged(i) }
        status.shell = self
        app.root = Split(.vertical, [(.weight(1), tabs), (.fixed(1), status), (.fixed(1), HelpBar())])
        app.attach(jobs.inbox) { [weak self] message in self?.dispatch(message) }
        app.onKey = { [weak self] key in self?.globalKey(key) ?? .ignored }
        app.confirmQuit = { [weak self] in self?.quitQuestion() }
        themeNames = configuration.themes.names()
        refreshCommands()
        if let url = configuration.latencyLog {
            latency = LatencyLog(url: url, jobs: jobs)
            app.onFrameFlushed = { [weak self] input, flushed in
                guard let input else { return }
                self?.latency?.record(milliseconds: (flushed - input) * 1000)
            }
        }
        for p in panes { p.didAppear() }
        panes[tabs.selected].focusFirst()
        if let name = configuration.modelName { openModel(name) }
    }

    // MARK: Running

    /// Runs the UI loop until the user quits; cancels running jobs on the way out.
    public func run() {
        app.run()
        jobs.cancelAll()
        for p in panes { p.willQuit() }
        latency?.close()
    }

    // MARK: Panes

    public var paneTitles: [String] { panes.map(\.title) }
    public var selectedPane: Int { tabs.selected }

    public func select(pane i: Int) {
        guard panes.indices.contains(i) else { return }
        tabs.selected = i
    }

    private func paneChanged(_ i: Int) {
        guard panes.indices.contains(i) else { return }
        panes[i].didAppear()
        panes[i].focusFirst()
        app.setNeedsDisplay()
    }

    private func dispatch(_ message: JobMessage) {
        switch message.event {
        case let .modelLoaded(model):
            activeModel = model
            loadingModel = nil
            app.toast("Opened \(model.name) (\(model.architecture), context \(model.contextLength))", kind: .success, seconds: 3)
        case let .jobEnded(_, .failed(reason)) where message.job == loadJob:
            app.toast("Could not open \(loadingModel ?? "model"): \(reason)")
            loadingModel = nil
        case let .notice(text):
            app.toast(text, kind: .info)
        default: break
        }
        for p in panes { p.receive(message) }
    }

    public func openModel(_ nameOrPath: String) {
        loadingModel = nameOrPath
        loadJob = host.load(nameOrPath, runner: jobs)
    }

    // MARK: Keys and commands

    private func globalKey(_ key: KeyEvent) -> EventResult {
        switch (key.key, key.modifiers) {
        case (.tab, []): select(pane: (tabs.selected + 1) % panes.count); return .handled
        case (.backTab, _): select(pane: (tabs.selected - 1 + panes.count) % panes.count); return .handled
        case (.character(let c), let m) where (m.isEmpty || m == .alt) && c.isASCII && (1...7).contains(c.wholeNumberValue ?? 0):
            select(pane: (c.wholeNumberValue ?? 1) - 1); return .handled
        case (.function(let n), []) where (1...7).contains(n): select(pane: n - 1); return .handled
        case (.character("q"), .control): app.requestQuit(); return .handled
        case (.character("t"), .control): nextTheme(); return .handled
        default: return .ignored
        }
    }

    private func quitQuestion() -> String? {
        let running = panes.compactMap(\.activeJobDescription)
        guard !running.isEmpty else { return nil }
        return "Still running: \(running.joined(separator: ", ")). Quit anyway? (running jobs are cancelled)"
    }

    func refreshCommands() {
        var list: [PaletteCommand] = []
        for (i, p) in panes.enumerated() {
            list.append(PaletteCommand("go \(p.title.lowercased())", detail: "pane \(i + 1)") { [weak self] in self?.select(pane: i) })
        }
        for p in panes { list += p.commands }
        for name in themeNames {
            list.append(PaletteCommand("theme \(name)", detail: "switch colours") { [weak self] in self?.useTheme(named: name) })
        }
        list.append(PaletteCommand("quit", detail: "leave the workbench") { [weak self] in self?.app.requestQuit() })
        app.commands = list
    }

    public func useTheme(named name: String) {
        do {
            app.setTheme(try configuration.themes.load(name))
        } catch {
            app.toast("\(error)")
        }
    }

    private func nextTheme() {
        guard !themeNames.isEmpty else { app.toast("no theme files found (set WHET_THEMES to the themes/ folder)"); return }
        let current = themeNames.firstIndex { (try? configuration.themes.load($0))?.name == app.theme.name } ?? -1
        useTheme(named: themeNames[(current + 1) % themeNames.count])
        app.toast("Theme: \(app.theme.name)", kind: .info, seconds: 2)
    }

    /// Jobs of kind generation / training / evaluation running now (token counts and file reads
    /// are not worth a question).
    var runningWork: [JobKind] {
        jobs.activeJobs.values.filter { $0 != .io }
    }
}

/// The line above the help bar: active model, running jobs, theme, workspace.
final class StatusLine: View {
    weak var shell: WorkbenchShell?

    func render(_ canvas: Canvas, _ context: RenderContext) {
        let base = Style(.muted, on: .background)
        canvas.fill(style: base)
        guard let shell else { return }
        var x = 1
        let model: String
        if let m = shell.activeModel { model = "\(m.name) · ctx \(m.contextLength)" }
        else if let l = shell.loadingModel { model = "opening \(l)…" }
        else { model = "no model open" }
        x += canvas.write("model ", x: x, y: 0, style: base)
        x += canvas.write(model, x: x, y: 0, style: Style(shell.activeModel == nil ? .warning : .accent, on: .background, [.bold]))
        let running = shell.runningWork
        if !running.isEmpty {
            x += canvas.write("  │  ", x: x, y: 0, style: base)
            x += canvas.write("running: " + running.map(\.rawValue).sorted().joined(separator: ", "), x: x, y: 0,
                              style: Style(.success, on: .background, [.bold]))
        }
        let right = "theme \(shell.app.theme.name)"
        let rx = canvas.width - DisplayWidth.of(right) - 1
        if rx > x + 2 { canvas.write(right, x: rx, y: 0, style: base) }
    }
}

/// Key-to-screen latency: for every frame that answers input, the time from reading the oldest
/// unanswered input event to flushing the frame, appended to a file as
/// `<ms> <running job kinds>`; `close()` appends a summary line.
public final class LatencyLog {
    private let handle: FileHandle?
    private let jobs: JobRunner
    public private(set) var samples: [Double] = []
    public private(set) var samplesWhileTraining: [Double] = []

    init(url: URL, jobs: JobRunner) {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        handle = try? FileHandle(forWritingTo: url)
        self.jobs = jobs
        write("# key-to-screen latency in ms (input read → frame flushed), then the job kinds running")
    }

    private func write(_ line: String) {
        handle?.write(Data((line + "\n").utf8))
    }

    func record(milliseconds ms: Double) {
        let kinds = Set(jobs.activeJobs.values).map(\.rawValue).sorted()
        samples.append(ms)
        if kinds.contains(JobKind.training.rawValue) { samplesWhileTraining.append(ms) }
        write(String(format: "%.3f", ms) + " " + (kinds.isEmpty ? "-" : kinds.joined(separator: ",")))
    }

    public static func summary(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "n=0" }
        let s = values.sorted()
        func q(_ p: Double) -> Double { s[min(s.count - 1, Int((p * Double(s.count - 1)).rounded()))] }
        return String(format: "n=%d median=%.2fms p95=%.2fms max=%.2fms", s.count, q(0.5), q(0.95), s.last ?? 0)
    }

    func close() {
        write("# all: " + Self.summary(samples))
        write("# while training: " + Self.summary(samplesWhileTraining))
        try? handle?.close()
    }
}
