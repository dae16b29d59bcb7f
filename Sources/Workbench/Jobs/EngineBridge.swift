import Engine
import Foundation

/// The generative model the workbench works with. It is opened by an `io` job and used only from
/// job queues (generation, token counting); the UI thread sees it through `ActiveModel` events.
// @unchecked Sendable: its mutable fields are touched only inside `lock.withLock`.
public final class ModelHost: @unchecked Sendable {
    private let lock = NSLock()
    private var loaded: LoadedTextModel?
    private var loading: String?

    public init() {}

    public var model: LoadedTextModel? { lock.withLock { loaded } }

    /// The active model with a PEFT adapter merged (Compare's columns), opened on the calling job's
    /// queue and kept for later rounds: the last few variants of the current base stay in memory.
    private var variants: [String: LoadedTextModel] = [:]
    private var variantOrder: [String] = []

    func model(adapter: String?) throws -> LoadedTextModel {
        guard let base = model else { throw WorkbenchError.noModel }
        guard let adapter, !adapter.isEmpty else { return base }
        let key = base.url.path + "\u{0}" + adapter
        if let cached = lock.withLock({ variants[key] }) { return cached }
        let merged = try LoadedTextModel.open(base.url, contextLength: base.contextLength,
                                              adapter: URL(fileURLWithPath: adapter, isDirectory: true))
        lock.withLock {
            variants = variants.filter { $0.key.hasPrefix(base.url.path + "\u{0}") }
            variantOrder = variantOrder.filter { variants[$0] != nil && $0 != key }
            variants[key] = merged
            variantOrder.append(key)
            while variantOrder.count > 2 { variants[variantOrder.removeFirst()] = nil }
        }
        return merged
    }

    /// Opens `nameOrPath` on the io queue and posts `.modelLoaded` (or a failure) when done.
    @discardableResult
    public func load(_ nameOrPath: String, runner: JobRunner) -> JobID {
        lock.withLock { loading = nameOrPath }
        return runner.start(.io, title: "open \(nameOrPath)") { [self] ctx in
            let url = try ModelLocator.locate(nameOrPath)
            let model = try LoadedTextModel.open(url, contextLength: 4096)
            lock.withLock { loaded = model; loading = nil }
            ctx.post(.modelLoaded(ActiveModel(name: url.deletingPathExtension().lastPathComponent, path: url.path,
                                              architecture: model.architecture, contextLength: model.generator.contextLength)))
        }
    }

    /// The Prompt pane's system + user text as a generation job, with the chat template the model asks for.
    static func prepare(_ model: LoadedTextModel, system: String, user: String, sampler: SamplerSettings = SamplerSettings(),
                        maxTokens: Int = 256, stops: [String] = []) throws -> GenerationJob {
        let chat = try model.chatTemplate(named: "auto")
        var messages: [ChatMessage] = []
        if !system.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { messages.append(.system(system)) }
        messages.append(.user(user))
        return try model.prepare(.messages(messages), template: chat, sampler: sampler, maxTokens: maxTokens, stops: stops).job
    }
}

/// One generation the panes ask for.
public struct GenerationRequest: Sendable, Equatable {
    public var system: String
    public var user: String
    public var parameters: GenerationParameters
    public var slot: Int
    /// A PEFT adapter folder merged into the active model for this request (nil: the model as loaded).
    public var adapter: String?
    public init(system: String, user: String, parameters: GenerationParameters, slot: Int = 0, adapter: String? = nil) {
        self.system = system; self.user = user; self.parameters = parameters; self.slot = slot; self.adapter = adapter
    }

    var sampler: SamplerSettings {
        SamplerSettings(temperature: Float(parameters.temperature), topK: parameters.topK, topP: Float(parameters.topP),
                        minP: Float(parameters.minP), repeatPenalty: Float(parameters.repeatPenalty), seed: parameters.seed)
    }
}

public enum WorkbenchError: Error, CustomStringConvertible, Equatable {
    case noModel
    case emptyPrompt
    public var description: String {
        switch self {
        case .noModel: "no model is open yet; choose one in the Models pane (or wait for the default to load)"
        case .emptyPrompt: "the prompt is empty; type one first"
        }
    }
}

public enum GenerationWork {
    /// Runs the requests one after another on the calling job's queue, streaming their tokens as
    /// `.generated` events. The model's own queue does the computing; the prompt-prefix cache makes a
    /// re-run with the same prompt process one token.
    public static func run(_ requests: [GenerationRequest], host: ModelHost, context ctx: JobContext) throws {
        guard host.model != nil else { throw WorkbenchError.noModel }
        for request in requests {
            if ctx.isCancelled { return }
            guard !request.user.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw WorkbenchError.emptyPrompt }
            let model = try host.model(adapter: request.adapter)
            let job = try ModelHost.prepare(model, system: request.system, user: request.user, sampler: request.sampler,
                                            maxTokens: request.parameters.maxTokens, stops: request.parameters.stop)
            let slot = request.slot
            let start = DispatchTime.now().uptimeNanoseconds
            let summary = try model.generator.generate(job) { event in
                switch event {
                case let .promptProcessed(stats):
                    ctx.post(.promptProcessed(slot: slot, tokens: stats.promptTokens, reused: stats.reusedTokens))
                case let .token(token):
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    ctx.post(.generated(slot: slot, piece: token.text, tokens: token.index + 1, seconds: seconds))
                case let .text(piece):
                    ctx.post(.text(slot: slot, piece: piece))
                default: break
                }
                return ctx.isCancelled ? .stop : .proceed
            }
            ctx.post(.generationFinished(slot: slot, GenerationStats(
                promptTokens: summary.prompt.promptTokens, generatedTokens: summary.generatedTokens,
                promptTokensProcessed: summary.prompt.processedTokens, promptTokensPerSecond: summary.prompt.tokensPerSecond,
                tokensPerSecond: summary.tokensPerSecond, stopReason: summary.stopReason.rawValue)))
        }
    }

    /// Counts the prompt tokens of `system` + `user` with the model's template (on a job queue).
    public static func countTokens(system: String, user: String, revision: Int, host: ModelHost, context ctx: JobContext) throws {
        guard let model = host.model else { return }
        let job = try ModelHost.prepare(model, system: system, user: user)
        ctx.post(.tokenCount(revision: revision, count: job.promptTokens.count))
    }

    /// Inspects every installed model (file headers only).
    public static func listModels(_ urls: [URL], context ctx: JobContext) {
        let rows = urls.map { url -> ModelListing in
            do {
                let info = try ModelInfo.inspect(url)
                let quant = info.tensorTypes.sorted { $0.value > $1.value }.prefix(3).map { "\($0.key)×\($0.value)" }.joined(separator: " ")
                return ModelListing(name: info.name, path: info.path, architecture: info.architecture,
                                    architectureClass: info.architectureClass.rawValue, parameters: info.parameters,
                                    quantization: quant, contextLength: info.contextLength, fileBytes: info.fileBytes)
            } catch {
                return ModelListing(name: url.lastPathComponent, path: url.path, error: "\(error)")
            }
        }
        ctx.post(.modelsListed(rows))
    }
}
