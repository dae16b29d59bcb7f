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

    public init(id: Int64?, runId: String, inputIndex: Int, configIndex: Int, prompt: String, output: String, promptTokens: Int,
                generatedTokens: Int, stopReason: String, seconds: Double, seed: String, error: String?) {
        self.id = id
        self.runId = runId
        self.inputIndex = inputIndex
        self.configIndex = configIndex
        self.prompt = prompt
        self.output = output
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.stopReason = stopReason
        self.seconds = seconds
        self.seed = seed
        self.error = error
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// What a comparison run's `config` column holds: its configurations and inputs.
public struct CompareRunSpec: Codable, Sendable, Equatable {
    public var configurations: [CompareConfiguration]
    public var inputs: [String]
    public init(configurations: [CompareConfiguration], inputs: [String]) {
        self.configurations = configurations
        self.inputs = inputs
    }
}

/// A comparison run as stored: its configurations, inputs, outputs and the picks made on it.
public struct CompareRun: Sendable, Equatable {
    /// The `kind` of comparison runs in the runs table.
    public static let kind = "compare"

    public var run: Run
    public var configurations: [CompareConfiguration]
    public var inputs: [String]
    /// `outputs[input][configuration]`; nil where the run stopped before that cell.
    public var outputs: [[CompareOutput?]]
    public var picks: [PreferencePick]
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
        guard run.kind == CompareRun.kind else { throw WorkspaceError.invalid("run \(id) is a \(run.kind) run, not a comparison") }
        let spec: CompareRunSpec
        do {
            spec = try JSONDecoder().decode(CompareRunSpec.self, from: Data(run.config.utf8))
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
