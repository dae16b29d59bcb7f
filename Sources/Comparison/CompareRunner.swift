import Engine
import Foundation
import Workspace

/// What `CompareRunner.run` reports while it works (on the caller's thread).
public enum CompareEvent: Sendable, Equatable {
    case started(runId: String, cells: Int)
    /// A piece of text of the cell being generated.
    case token(inputIndex: Int, configIndex: Int, text: String)
    case cellFinished(CompareOutput)
}

/// Runs N configurations on the same inputs and stores every output in the workspace as a
/// `compare` run. Synchronous: call it from a background queue (the Compare pane) or a command.
///
/// Models are opened once per run and shared by the configurations that name the same file.
public final class CompareRunner {
    public static let runKind = CompareRun.kind

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
        let config = String(decoding: try encoder.encode(CompareRunSpec(configurations: configurations, inputs: inputs)), as: UTF8.self)
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
            let prepared = try loaded.prepare(.promptFile(file, variables: ["input": input], substitutingVariables: true), template: chat,
                                              sampler: file.sampler, maxTokens: file.maxTokens, stops: file.stop)
            row.prompt = prepared.text
            let job = prepared.job
            let (summary, stopped) = try loaded.generator.generateText(job) { piece in
                onEvent(.token(inputIndex: inputIndex, configIndex: configIndex, text: piece))
            }
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
