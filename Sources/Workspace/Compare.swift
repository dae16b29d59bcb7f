import Engine
import Foundation
import GRDB

/// One side of a comparison: which model, adapter, saved prompt version and sampler settings.
///
/// JSON keys are snake_case (`prompt_version`, `max_tokens`); every key but `model` may be left
/// out. With a saved `prompt`, the compared input fills its `{{input}}` placeholder and the prompt
/// file's own sampler, max_tokens and stop apply unless this configuration sets them.
public struct CompareConfiguration: Codable, Sendable, Equatable {
    /// Shown in tables and the Compare pane (default: A, B, C, … by position).
    public var name: String?
    /// A path to a model file or the name of an installed model.
    public var model: String
    /// A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors, e.g. from
    /// `whet train lora`), merged into the model's weights when it is opened.
    public var adapter: String?
    /// A prompt saved in the project (`WorkspaceStore.savePrompt`), and its version (nil = latest).
    public var prompt: String?
    public var promptVersion: Int?
    /// Chat template: auto, gemma, chatml, llama3 or none (default: the prompt file's, else auto).
    public var template: String?
    public var sampler: SamplerSettings?
    public var maxTokens: Int?
    public var stop: [String]

    public init(name: String? = nil, model: String, adapter: String? = nil, prompt: String? = nil, promptVersion: Int? = nil,
                template: String? = nil, sampler: SamplerSettings? = nil, maxTokens: Int? = nil, stop: [String] = []) {
        self.name = name
        self.model = model
        self.adapter = adapter
        self.prompt = prompt
        self.promptVersion = promptVersion
        self.template = template
        self.sampler = sampler
        self.maxTokens = maxTokens
        self.stop = stop
    }

    enum CodingKeys: String, CodingKey {
        case name, model, adapter, prompt, promptVersion = "prompt_version", template, sampler, maxTokens = "max_tokens", stop
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? ModelLocator.defaultModelName
        adapter = try c.decodeIfPresent(String.self, forKey: .adapter)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        promptVersion = try c.decodeIfPresent(Int.self, forKey: .promptVersion)
        template = try c.decodeIfPresent(String.self, forKey: .template)
        sampler = try c.decodeIfPresent(SamplerSettings.self, forKey: .sampler)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        stop = try c.decodeIfPresent([String].self, forKey: .stop) ?? []
    }

    /// The configuration as one line of JSON (stored with picks and runs).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// "A", "B", … for position `index` when no name is set.
    public func label(at index: Int) -> String {
        if let name, !name.isEmpty { return name }
        return index < 26 ? String(UnicodeScalar(UInt8(65 + index))) : "#\(index + 1)"
    }
}

/// One generated answer of a comparison: configuration `configIndex` on input `inputIndex`.
public struct CompareOutput: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "compareOutput"
    public var id: Int64?
    public var runId: String
    public var inputIndex: Int
    public var configIndex: Int
    /// The text the model was given (prompt file rendered, chat template applied).
    public var prompt: String
    public var output: String
    public var promptTokens: Int
    public var generatedTokens: Int
    public var stopReason: String
    public var seconds: Double
    /// The sampler seed used (re-run with it to repeat the output).
    public var seed: String
    /// Why this cell has no output (the model could not be opened, the prompt did not fit, …).
    public var error: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A comparison run as stored: its configurations, inputs, outputs and the picks made on it.
public struct CompareRun: Sendable, Equatable {
    public var run: Run
    public var configurations: [CompareConfiguration]
    public var inputs: [String]
    /// `outputs[input][configuration]`; nil where the run stopped before that cell.
    public var outputs: [[CompareOutput?]]
    public var picks: [PreferencePick]
}

/// What `CompareRunner.run` reports while it works (on the caller's thread).
public enum CompareEvent: Sendable, Equatable {
    case started(runId: String, cells: Int)
    /// A piece of text of the cell being generated.
    case token(inputIndex: Int, configIndex: Int, text: String)
    case cellFinished(CompareOutput)
}

public enum CompareError: Error, CustomStringConvertible, Equatable {
    case noConfigurations
    case noInputs
    case adapterMissing(String)
    case promptNotFound(name: String, version: Int?)
    case promptWithoutInput(name: String)
    case badIndex(String)

    public var description: String {
        switch self {
        case .noConfigurations: return "a comparison needs at least two configurations"
        case .noInputs: return "a comparison needs at least one input"
        case let .adapterMissing(path):
            return "adapter \(path) has no adapter_config.json; give a PEFT adapter folder (as `whet train lora` writes)"
        case let .promptNotFound(name, version):
            return "prompt '\(name)'\(version.map { " version \($0)" } ?? "") is not saved in this project; save it first (the Prompt pane, or WorkspaceStore.savePrompt)"
        case let .promptWithoutInput(name):
            return "prompt '\(name)' has no {{input}} placeholder, so the compared inputs would not reach the model; add {{input}} to its template"
        case let .badIndex(message): return message
        }
    }
}

extension WorkspaceStore {
    /// Schema of comparisons; registered by `migrator` after v1.
    static func registerCompareMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v2-compare") { db in
            try db.create(table: "compareOutput") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("run", onDelete: .cascade).notNull()
                t.column("inputIndex", .integer).notNull()
                t.column("configIndex", .integer).notNull()
                t.column("prompt", .text).notNull()
                t.column("output", .text).notNull()
                t.column("promptTokens", .integer).notNull()
                t.column("generatedTokens", .integer).notNull()
                t.column("stopReason", .text).notNull()
                t.column("seconds", .double).notNull()
                t.column("seed", .text).notNull()
                t.column("error", .text)
                t.uniqueKey(["runId", "inputIndex", "configIndex"])
            }
            try db.alter(table: "preferencePick") { t in
                t.add(column: "runId", .text).references("run", onDelete: .setNull)
                t.add(column: "inputIndex", .integer)
                t.add(column: "configIndexA", .integer)
                t.add(column: "configIndexB", .integer)
            }
        }
    }

    /// Stores one output (replacing an earlier one for the same cell).
    public func save(compareOutput: CompareOutput) throws -> CompareOutput {
        try database.write { db in
            try db.execute(sql: "DELETE FROM compareOutput WHERE runId = ? AND inputIndex = ? AND configIndex = ?",
                           arguments: [compareOutput.runId, compareOutput.inputIndex, compareOutput.configIndex])
            var o = compareOutput
            try o.insert(db)
            return o
        }
    }

    /// A comparison run with everything recorded on it.
    public func compareRun(id: String) throws -> CompareRun {
        let run = try self.run(id: id)
        guard run.kind == CompareRunner.runKind else { throw WorkspaceError.invalid("run \(id) is a \(run.kind) run, not a comparison") }
        let spec: CompareRunner.Spec
        do {
            spec = try JSONDecoder().decode(CompareRunner.Spec.self, from: Data(run.config.utf8))
        } catch {
            throw WorkspaceError.invalid("run \(id) has an unreadable comparison config: \(error)")
        }
        let rows = try database.read { db in
            try CompareOutput.filter(Column("runId") == id).order(Column("inputIndex"), Column("configIndex")).fetchAll(db)
        }
        var outputs = Array(repeating: [CompareOutput?](repeating: nil, count: spec.configurations.count), count: spec.inputs.count)
        for row in rows where row.inputIndex < spec.inputs.count && row.configIndex < spec.configurations.count {
            outputs[row.inputIndex][row.configIndex] = row
        }
        let picks = try database.read { db in
            try PreferencePick.filter(Column("runId") == id).order(Column("id")).fetchAll(db)
        }
        return CompareRun(run: run, configurations: spec.configurations, inputs: spec.inputs, outputs: outputs, picks: picks)
    }

    /// Records a human pick between configurations `a` and `b` on input `inputIndex` of a
    /// comparison run: `.a` (A's answer is better), `.b`, or `.tie`, with an optional note.
    @discardableResult
    public func recordPick(runId: String, inputIndex: Int, a: Int, b: Int, choice: PreferenceChoice, note: String = "") throws -> PreferencePick {
        let compared = try compareRun(id: runId)
        guard compared.inputs.indices.contains(inputIndex) else {
            throw CompareError.badIndex("input \(inputIndex) does not exist; run \(runId) has inputs 0..<\(compared.inputs.count)")
        }
        for i in [a, b] where !compared.configurations.indices.contains(i) {
            throw CompareError.badIndex("configuration \(i) does not exist; run \(runId) has configurations 0..<\(compared.configurations.count)")
        }
        guard a != b else { throw CompareError.badIndex("pick between two different configurations") }
        guard let outA = compared.outputs[inputIndex][a], let outB = compared.outputs[inputIndex][b],
              outA.error == nil, outB.error == nil else {
            throw CompareError.badIndex("input \(inputIndex) has no output of both configurations \(a) and \(b) to pick from")
        }
        var pick = PreferencePick(projectId: compared.run.projectId, prompt: compared.inputs[inputIndex],
                                  outputA: outA.output, outputB: outB.output,
                                  configA: compared.configurations[a].json, configB: compared.configurations[b].json,
                                  choice: choice, note: note)
        pick.runId = runId
        pick.inputIndex = inputIndex
        pick.configIndexA = a
        pick.configIndexB = b
        return try record(pick: pick)
    }
}

/// Runs N configurations on the same inputs and stores every output in the workspace as a
/// `compare` run. Synchronous: call it from a background queue (the Compare pane) or a command.
///
/// Models are opened once per run and shared by the configurations that name the same file.
public final class CompareRunner {
    public static let runKind = "compare"

    struct Spec: Codable {
        var configurations: [CompareConfiguration]
        var inputs: [String]
    }

    public let store: WorkspaceStore
    public let projectId: Int64
    private var models: [String: LoadedTextModel] = [:]

    public init(store: WorkspaceStore, projectId: Int64) {
        self.store = store
        self.projectId = projectId
    }

    /// Runs every configuration on every input (input by input, so a person can start picking
    /// early) and returns the stored run. `onEvent` may answer `.stop`: the run is then marked
    /// cancelled and keeps the outputs finished so far.
    @discardableResult
    public func run(configurations: [CompareConfiguration], inputs: [String],
                    onEvent: (CompareEvent) -> Directive = { _ in .proceed }) throws -> CompareRun {
        guard configurations.count >= 2 else { throw CompareError.noConfigurations }
        guard !inputs.isEmpty else { throw CompareError.noInputs }
        // Check everything that can be checked before any model runs.
        var prompts: [PromptFile] = []
        for configuration in configurations {
            if let adapter = configuration.adapter,
               !FileManager.default.fileExists(atPath: Self.adapterURL(adapter).appendingPathComponent("adapter_config.json").path) {
                throw CompareError.adapterMissing(adapter)
            }
            prompts.append(try promptFile(for: configuration))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let config = String(decoding: try encoder.encode(Spec(configurations: configurations, inputs: inputs)), as: UTF8.self)
        let run = try store.startRun(projectId: projectId, kind: Self.runKind, config: config)
        if onEvent(.started(runId: run.id, cells: configurations.count * inputs.count)) == .stop {
            try store.setStatus(runId: run.id, .cancelled)
            return try store.compareRun(id: run.id)
        }
        do {
            for (inputIndex, input) in inputs.enumerated() {
                for (configIndex, configuration) in configurations.enumerated() {
                    let (output, stopped) = generate(configuration, prompt: prompts[configIndex], input: input, runId: run.id,
                                                     inputIndex: inputIndex, configIndex: configIndex, onEvent: onEvent)
                    let saved = try store.save(compareOutput: output)
                    if stopped || onEvent(.cellFinished(saved)) == .stop {
                        try store.setStatus(runId: run.id, .cancelled)
                        return try store.compareRun(id: run.id)
                    }
                }
            }
            try store.setStatus(runId: run.id, .completed)
        } catch {
            try? store.setStatus(runId: run.id, .failed, error: "\(error)")
            throw error
        }
        return try store.compareRun(id: run.id)
    }

    /// The prompt file of a configuration: its saved prompt version, or the bare input.
    func promptFile(for configuration: CompareConfiguration) throws -> PromptFile {
        var file: PromptFile
        if let name = configuration.prompt {
            let versions = try store.promptVersions(projectId: projectId, name: name)
            let chosen = configuration.promptVersion.map { v in versions.first { $0.version == v } } ?? versions.last
            guard let version = chosen else { throw CompareError.promptNotFound(name: name, version: configuration.promptVersion) }
            file = try JSONDecoder().decode(PromptFile.self, from: Data(version.body.utf8))
            let placeholders = PromptVariables.names(in: file.template) + (file.system.map(PromptVariables.names) ?? [])
            guard placeholders.contains("input") else { throw CompareError.promptWithoutInput(name: name) }
        } else {
            file = PromptFile(template: "{{input}}")
        }
        if let template = configuration.template { file.chatTemplate = template }
        if let sampler = configuration.sampler { file.sampler = sampler }
        if let maxTokens = configuration.maxTokens { file.maxTokens = maxTokens }
        file.stop += configuration.stop
        try file.validate(path: configuration.prompt ?? "configuration")
        return file
    }

    static func adapterURL(_ path: String) -> URL {
        URL(fileURLWithPath: (path as NSString).expandingTildeInPath, isDirectory: true)
    }

    /// Opened once per (model, adapter) and shared by the configurations that name the same pair.
    private func model(_ name: String, adapter: String?) throws -> LoadedTextModel {
        let url = try ModelLocator.locate(name)
        let key = url.path + "|" + (adapter.map { Self.adapterURL($0).path } ?? "")
        if let open = models[key] { return open }
        let opened = try LoadedTextModel.open(url, adapter: adapter.map(Self.adapterURL))
        models[key] = opened
        return opened
    }

    /// One cell; failures become an output row with `error` set, so the other cells still run.
    private func generate(_ configuration: CompareConfiguration, prompt file: PromptFile, input: String, runId: String,
                          inputIndex: Int, configIndex: Int,
                          onEvent: (CompareEvent) -> Directive) -> (CompareOutput, stopped: Bool) {
        var row = CompareOutput(id: nil, runId: runId, inputIndex: inputIndex, configIndex: configIndex, prompt: "", output: "",
                                promptTokens: 0, generatedTokens: 0, stopReason: "", seconds: 0, seed: "", error: nil)
        do {
            let loaded = try model(configuration.model, adapter: configuration.adapter)
            let chat = try loaded.chatTemplate(named: file.chatTemplate)
            // Substitution is one pass: braces inside the input are kept as text.
            row.prompt = try file.render(with: chat, overriding: ["input": input])
            let job = try loaded.prepare(.rendered(row.prompt), template: chat, sampler: file.sampler, maxTokens: file.maxTokens,
                                         stops: file.stop).job
            // Events arrive on the generator's queue; hand them to the caller's callback in order.
            let relay = EventRelay()
            let session = loaded.generator.start(job) { event in
                if case let .token(token) = event, !token.text.isEmpty { relay.push(token.text) }
                if case let .text(piece) = event, !piece.isEmpty { relay.push(piece) }
                switch event {
                case .finished, .failed: relay.finish()
                default: break
                }
                return relay.stopRequested ? .stop : .proceed
            }
            var stopped = false
            while let piece = relay.next() {
                if onEvent(.token(inputIndex: inputIndex, configIndex: configIndex, text: piece)) == .stop {
                    relay.requestStop()
                    session.cancel()
                    stopped = true
                }
            }
            let summary = try session.wait().get()
            row.output = summary.text
            row.promptTokens = summary.prompt.promptTokens
            row.generatedTokens = summary.generatedTokens
            row.stopReason = summary.stopReason.rawValue
            row.seconds = summary.prompt.seconds + summary.generationSeconds
            row.seed = String(summary.seed)
            return (row, stopped)
        } catch {
            row.error = "\(error)"
            return (row, false)
        }
    }
}

/// Text pieces from the generator's queue to the runner's thread.
private final class EventRelay: @unchecked Sendable {
    private let condition = NSCondition()
    private var pieces: [String] = []
    private var stop = false
    private var finished = false

    func push(_ piece: String) {
        condition.lock()
        pieces.append(piece)
        condition.signal()
        condition.unlock()
    }

    var stopRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stop
    }

    func requestStop() {
        condition.lock()
        stop = true
        condition.unlock()
    }

    /// The run ended (its last event was delivered).
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// The next piece, or nil once the run has ended and every piece was handed out.
    func next() -> String? {
        condition.lock()
        defer { condition.unlock() }
        while pieces.isEmpty {
            if finished { return nil }
            condition.wait()
        }
        return pieces.removeFirst()
    }
}
