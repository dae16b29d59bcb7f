import ArgumentParser
import Foundation
import Workspace

/// Where the workspace is: `--workspace`, else $WHET_WORKSPACE, else the current folder.
struct WorkspaceOptions: ParsableArguments {
    @Option(name: .long, help: "Workspace folder holding whet.sqlite and runs/ (default: $WHET_WORKSPACE or the current folder).")
    var workspace: String?

    var folder: URL {
        if let workspace { return URL(fileURLWithPath: (workspace as NSString).expandingTildeInPath, isDirectory: true) }
        if let env = ProcessInfo.processInfo.environment["WHET_WORKSPACE"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
    }

    /// Opens an existing workspace; reading commands never create one as a side effect.
    func openExisting() throws -> WorkspaceStore {
        let db = folder.appendingPathComponent(WorkspaceStore.databaseFileName)
        guard FileManager.default.fileExists(atPath: db.path) else {
            throw CommandFailure("no workspace at \(folder.path) (no \(WorkspaceStore.databaseFileName)); pass --workspace DIR or start a run there")
        }
        return try WorkspaceStore(folder: folder)
    }
}

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List, show and compare the runs recorded in a workspace.",
        subcommands: [List.self, Show.self, Compare.self, WriteLoad.self],
        defaultSubcommand: List.self
    )

    struct RunSummary: Encodable {
        let id: String
        let kind: String
        let status: String
        let started_at: String
        let ended_at: String?
        let error: String?
        init(_ run: Run) {
            id = run.id
            kind = run.kind
            status = run.status.rawValue
            started_at = ISO8601DateFormatter().string(from: run.startedAt)
            ended_at = run.endedAt.map { ISO8601DateFormatter().string(from: $0) }
            error = run.error
        }
    }

    struct MetricSummary: Encodable {
        let name: String
        let points: Int
        let first: Double
        let last: Double
        let min: Double
        let max: Double
        let last_step: Int

        init?(name: String, series: [MetricPoint]) {
            guard let f = series.first, let l = series.last else { return nil }
            self.name = name
            points = series.count
            first = f.value
            last = l.value
            min = series.map(\.value).min() ?? f.value
            max = series.map(\.value).max() ?? f.value
            last_step = l.step
        }
    }

    static func summaries(_ store: WorkspaceStore, runId: String) throws -> [MetricSummary] {
        try store.metricNames(runId: runId).compactMap { name in
            MetricSummary(name: name, series: try store.metricSeries(runId: runId, name: name))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, newest first.")
        @OptionGroup var location: WorkspaceOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try reportingErrors {
                let store = try location.openExisting()
                let runs = try store.runs().map(RunSummary.init)
                if output.json {
                    try CommandOutput.printJSON(["runs": runs])
                } else if runs.isEmpty {
                    print("no runs in \(store.folder.path)")
                } else {
                    print(pad("ID", 40) + pad("KIND", 10) + pad("STATUS", 11) + "STARTED")
                    for r in runs { print(pad(r.id, 40) + pad(r.kind, 10) + pad(r.status, 11) + r.started_at) }
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run: config, status and its metric series.")
        @Argument(help: "Run id (see `whet runs list`).") var id: String
        @OptionGroup var location: WorkspaceOptions
        @OptionGroup var output: OutputOptions

        struct Shown: Encodable {
            let run: RunSummary
            let config: String
            let folder: String
            let metrics: [MetricSummary]
        }

        func run() throws {
            try reportingErrors {
                let store = try location.openExisting()
                let run = try store.run(id: id)
                let shown = Shown(run: RunSummary(run), config: run.config, folder: store.runFolder(run.id).path,
                                  metrics: try RunsCommand.summaries(store, runId: run.id))
                if output.json {
                    try CommandOutput.printJSON(shown)
                } else {
                    print("run     \(run.id)\nkind    \(run.kind)\nstatus  \(run.status.rawValue)\nfolder  \(shown.folder)\nconfig  \(run.config)")
                    if let e = run.error { print("error   \(e)") }
                    for m in shown.metrics {
                        print("  \(pad(m.name, 14)) last \(fmt(m.last)) (step \(m.last_step))  min \(fmt(m.min))  max \(fmt(m.max))  points \(m.points)")
                    }
                }
            }
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare the final metrics of two or more runs side by side.")
        @Argument(help: "Two or more run ids.") var ids: [String]
        @OptionGroup var location: WorkspaceOptions
        @OptionGroup var output: OutputOptions

        struct Compared: Encodable {
            let runs: [RunSummary]
            /// metric name → one final value per run (null where a run lacks it)
            let metrics: [String: [Double?]]
        }

        func validate() throws {
            guard ids.count >= 2 else { throw ValidationError("give at least two run ids to compare") }
        }

        func run() throws {
            try reportingErrors {
                let store = try location.openExisting()
                let runs = try ids.map { try store.run(id: $0) }
                var table: [String: [Double?]] = [:]
                for (i, run) in runs.enumerated() {
                    for m in try RunsCommand.summaries(store, runId: run.id) {
                        table[m.name, default: Array(repeating: nil, count: runs.count)][i] = m.last
                    }
                }
                let compared = Compared(runs: runs.map(RunSummary.init), metrics: table)
                if output.json {
                    try CommandOutput.printJSON(compared)
                } else {
                    print(pad("METRIC", 16) + runs.map { pad(String($0.id.prefix(28)), 30) }.joined())
                    for name in table.keys.sorted() {
                        print(pad(name, 16) + (table[name] ?? []).map { pad($0.map(fmt) ?? "-", 30) }.joined())
                    }
                }
            }
        }
    }

    /// Writes metric points in a tight loop of small transactions; used by the crash-safety test,
    /// which kills this process with SIGKILL mid-write and then checks the database.
    struct WriteLoad: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "write-load", abstract: "Stress writes into a workspace (crash-safety testing).",
                                                        shouldDisplay: false)
        @OptionGroup var location: WorkspaceOptions
        @Option var steps = 1_000_000

        func run() throws {
            try reportingErrors {
                let store = try WorkspaceStore(folder: location.folder)
                let project = try store.project(named: "stress")
                guard let pid = project.id else { throw CommandFailure("project has no id") }
                let run = try store.startRun(projectId: pid, kind: "stress", config: "{}")
                CommandOutput.progress("run \(run.id)")
                for step in 0..<steps {
                    // Three transactions a step, always in this order: two metric series together
                    // (both points or neither), an eval row, a preference pick. After a kill, each
                    // table must hold a gap-free prefix, and no later write without the earlier ones.
                    try store.append(metrics: [
                        MetricPoint(runId: run.id, name: "a", step: step, value: Double(step)),
                        MetricPoint(runId: run.id, name: "b", step: step, value: Double(-step)),
                    ])
                    try store.append(evalResults: [EvalResult(runId: run.id, exampleId: String(step), prediction: "p\(step)",
                                                              reference: "r\(step)", scores: "{\"step\":\(step)}")])
                    try store.record(pick: PreferencePick(projectId: pid, prompt: "prompt \(step)", outputA: "a\(step)",
                                                          outputB: "b\(step)", configA: "{}", configB: "{}", choice: .a,
                                                          note: String(step)))
                }
                try store.setStatus(runId: run.id, .completed)
            }
        }
    }
}

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}

private func fmt(_ v: Double) -> String { String(format: "%.6g", v) }
