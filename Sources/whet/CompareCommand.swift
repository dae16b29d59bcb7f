import ArgumentParser
import Engine
import Foundation
import Comparison
import Workspace

/// `whet compare run|show|pick|export`: N configurations on the same inputs, human picks, and the
/// picks as DPO data (docs/workspace.md).
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run configurations side by side on the same inputs, record which answer is better, export the picks for DPO.",
        discussion: """
        A configuration is JSON (inline, or a file path): {"name", "model", "adapter", "prompt",
        "prompt_version", "template", "sampler": {...}, "max_tokens", "stop"}; only "model" matters
        when the rest is left out. Outputs and picks are stored in the workspace (whet.sqlite).
        """,
        subcommands: [RunCompare.self, Show.self, Pick.self, Export.self]
    )

    struct ProjectOptions: ParsableArguments {
        @Option(help: "Project in the workspace (default: default).")
        var project = "default"
    }

    struct CellReport: Encodable {
        let input: Int
        let configuration: Int
        let label: String
        let output: String?
        let generated_tokens: Int
        let stop_reason: String
        let seconds: Double
        let seed: String
        let error: String?
    }

    struct PickReport: Encodable {
        let id: Int64?
        let input: Int?
        let a: Int?
        let b: Int?
        let choice: String
        let note: String
    }

    struct RunReport: Encodable {
        let run_id: String
        let status: String
        let configurations: [CompareConfiguration]
        let inputs: [String]
        let outputs: [CellReport]
        let picks: [PickReport]

        init(_ c: CompareRun) {
            run_id = c.run.id
            status = c.run.status.rawValue
            configurations = c.configurations
            inputs = c.inputs
            var cells: [CellReport] = []
            for (i, row) in c.outputs.enumerated() {
                for (j, cell) in row.enumerated() {
                    guard let cell else { continue }
                    cells.append(CellReport(input: i, configuration: j, label: c.configurations[j].label(at: j),
                                            output: cell.error == nil ? cell.output : nil, generated_tokens: cell.generatedTokens,
                                            stop_reason: cell.stopReason, seconds: cell.seconds, seed: cell.seed, error: cell.error))
                }
            }
            outputs = cells
            picks = c.picks.map { PickReport(id: $0.id, input: $0.inputIndex, a: $0.configIndexA, b: $0.configIndexB,
                                             choice: $0.choice.rawValue, note: $0.note) }
        }
    }

    static func printHuman(_ c: CompareRun) {
        print("comparison \(c.run.id) (\(c.run.status.rawValue))")
        for (j, configuration) in c.configurations.enumerated() {
            print("  [\(j)] \(configuration.label(at: j)): \(configuration.json)")
        }
        for (i, input) in c.inputs.enumerated() {
            print("\ninput \(i): \(input)")
            for (j, cell) in c.outputs[i].enumerated() {
                let label = c.configurations[j].label(at: j)
                guard let cell else { print("  \(label): (not run)"); continue }
                if let error = cell.error { print("  \(label): error: \(error)"); continue }
                print("  \(label) (\(cell.generatedTokens) tokens, \(cell.stopReason)): \(cell.output)")
            }
            for pick in c.picks where pick.inputIndex == i {
                print("  pick: \(pick.choice.rawValue) between \(pick.configIndexA ?? 0) and \(pick.configIndexB ?? 1)\(pick.note.isEmpty ? "" : " — \(pick.note)")")
            }
        }
    }

    struct RunCompare: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run two or more configurations on the same inputs and store the outputs.",
            discussion: """
            Inputs come from --input (repeatable) and --inputs FILE: a .jsonl file of {"input": …} or
            {"prompt": …} objects, or a text file with one input per line.
            Example: whet compare run --config '{"sampler":{"temperature":0}}' \\
                       --config '{"sampler":{"temperature":1.2,"seed":7}}' --input "Name a colour."
            """
        )
        @OptionGroup var location: WorkspaceOptions
        @OptionGroup var project: ProjectOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .customLong("config"), help: "A configuration: inline JSON or a JSON file; give two or more.")
        var configs: [String] = []
        @Option(name: .customLong("input"), help: "An input to compare on; repeatable.")
        var inputs: [String] = []
        @Option(name: .customLong("inputs"), help: "A file of inputs (.jsonl with \"input\" or \"prompt\", else one per line).")
        var inputsFile: String?

        func run() throws {
            try reportingErrors {
                let configurations = try configs.map(parseConfiguration)
                guard configurations.count >= 2 else { throw CommandFailure("give at least two --config to compare") }
                var all = inputs
                if let inputsFile { all += try readInputs(inputsFile) }
                guard !all.isEmpty else { throw CommandFailure("no inputs: pass --input TEXT or --inputs FILE") }
                let store = try WorkspaceStore(folder: location.folder)
                guard let pid = try store.project(named: project.project).id else { throw CommandFailure("project has no id") }
                let runner = CompareRunner(store: store, projectId: pid)
                let total = configurations.count * all.count
                var done = 0
                let started = Date()
                let result = try runner.run(configurations: configurations, inputs: all) { event in
                    switch event {
                    case let .started(runId, _):
                        CommandOutput.progress("compare run \(runId): \(total) outputs to generate")
                    case let .cellFinished(cell):
                        done += 1
                        let elapsed = Date().timeIntervalSince(started)
                        let eta = Double(total - done) * elapsed / Double(done)
                        CommandOutput.progress(String(format: "[%d/%d] input %d, configuration %d%@ — ETA %.0fs", done, total,
                                                      cell.inputIndex, cell.configIndex, cell.error.map { " failed: \($0)" } ?? "", eta))
                    case .token:
                        break
                    }
                    return .proceed
                }
                if output.json { try CommandOutput.printJSON(RunReport(result)) } else { CompareCommand.printHuman(result) }
            }
        }

        func parseConfiguration(_ text: String) throws -> CompareConfiguration {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let data: Data
            if trimmed.hasPrefix("{") {
                data = Data(trimmed.utf8)
            } else {
                do { data = try Data(contentsOf: URL(fileURLWithPath: (trimmed as NSString).expandingTildeInPath)) } catch {
                    throw CommandFailure("--config \(text): not inline JSON and not a readable file")
                }
            }
            do {
                return try JSONDecoder().decode(CompareConfiguration.self, from: data)
            } catch {
                throw CommandFailure("--config \(text): not a valid configuration (\(error)); see `whet compare --help`")
            }
        }

        func readInputs(_ path: String) throws -> [String] {
            let text: String
            do { text = try String(contentsOfFile: (path as NSString).expandingTildeInPath, encoding: .utf8) } catch {
                throw CommandFailure("cannot read --inputs \(path): \(error.localizedDescription)")
            }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            guard path.hasSuffix(".jsonl") else { return lines }
            return try lines.enumerated().map { i, line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let input = (object["input"] ?? object["prompt"]) as? String else {
                    throw CommandFailure("\(path):\(i + 1): expected a JSON object with a string \"input\" (or \"prompt\")")
                }
                return input
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a comparison run: outputs side by side and the picks made.")
        @Argument(help: "Comparison run id (whet runs list).") var id: String
        @OptionGroup var location: WorkspaceOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try reportingErrors {
                let compared = try location.openExisting().compareRun(id: id)
                if output.json { try CommandOutput.printJSON(RunReport(compared)) } else { CompareCommand.printHuman(compared) }
            }
        }
    }

    struct Pick: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record which of two outputs is better (a, b or tie) with an optional note.")
        @Argument(help: "Comparison run id.") var id: String
        @Option(help: "Input index (from `whet compare show`).") var input: Int
        @Option(help: "Configuration index shown as A (default 0).") var a = 0
        @Option(help: "Configuration index shown as B (default 1).") var b = 1
        @Option(help: "a (A is better), b (B is better) or tie.") var choice: String
        @Option(help: "Why (kept with the pick).") var note = ""
        @OptionGroup var location: WorkspaceOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try reportingErrors {
                guard let parsed = PreferenceChoice(rawValue: choice.lowercased()) else {
                    throw CommandFailure("--choice must be a, b or tie (got \(choice))")
                }
                let pick = try location.openExisting().recordPick(runId: id, inputIndex: input, a: a, b: b, choice: parsed, note: note)
                let report = PickReport(id: pick.id, input: pick.inputIndex, a: pick.configIndexA, b: pick.configIndexB,
                                        choice: pick.choice.rawValue, note: pick.note)
                if output.json { try CommandOutput.printJSON(report) } else { print("recorded pick \(pick.id ?? 0): \(pick.choice.rawValue)") }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the picks as DPO JSONL {\"prompt\",\"chosen\",\"rejected\"} (ties left out) for `whet train dpo`.")
        @Option(help: "Output file (.jsonl).") var out: String
        @Option(name: .customLong("run"), help: "Only the picks of this comparison run (default: every pick of the project).")
        var runId: String?
        @OptionGroup var project: ProjectOptions
        @OptionGroup var location: WorkspaceOptions
        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            let path: String
            let pairs: Int
        }

        func run() throws {
            try reportingErrors {
                let store = try location.openExisting()
                guard let pid = try store.projects().first(where: { $0.name == project.project })?.id else {
                    throw CommandFailure("no project '\(project.project)' in \(store.folder.path); pass --project NAME")
                }
                let url = URL(fileURLWithPath: (out as NSString).expandingTildeInPath)
                let pairs = try store.exportPreferences(projectId: pid, runId: runId, to: url)
                if output.json { try CommandOutput.printJSON(Report(path: url.path, pairs: pairs)) } else {
                    print("wrote \(pairs) preference pairs to \(url.path)")
                }
            }
        }
    }
}
