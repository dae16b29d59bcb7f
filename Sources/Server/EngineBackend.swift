import Engine
import Foundation
import Synchronization

/// The real `InferenceBackend`: a loaded text model with `sessions` generators over its shared
/// weights (one key/value cache each), and optionally a sentence-embedding model.
///
/// Each request gets a whole generator for its run, so concurrent streams never share a cache or
/// a sampler.
///
/// By default every request computes its prompt from an empty cache, so the same request gives
/// the same answer whatever ran before it (at temperature 0, bit for bit). With `promptCache` a
/// free generator whose cache already starts with the prompt is preferred and only the new tokens
/// are computed (a follow-up chat turn is much faster), but a prompt computed in a different
/// split of batches can round differently, and a near-tie can then flip a greedy token.
public final class EngineBackend: InferenceBackend {
    public let textModel: LoadedTextModel?
    public let textModelID: String
    public let chatTemplate: ChatTemplate?
    public let embedder: SentenceEmbedder?
    public let embeddingModelID: String
    private let pool: GeneratorPool?
    public let promptCache: Bool
    /// BERT runs on its own serial queue: embeddings never wait behind a long generation.
    private let embeddingQueue = DispatchQueue(label: "whetstone.server.embeddings", qos: .userInitiated)

    /// `template` is `auto` (the model's own, else by architecture) or a `ChatTemplate.Kind`; a model
    /// with no known template serves completions only (chat requests get a 400).
    public init(textModel: LoadedTextModel?, textModelID: String, sessions: Int, template: String = "auto",
                promptCache: Bool = false, embedder: SentenceEmbedder?, embeddingModelID: String) throws {
        self.promptCache = promptCache
        self.textModel = textModel
        self.textModelID = textModelID
        self.embedder = embedder
        self.embeddingModelID = embeddingModelID
        if let textModel {
            let count = max(1, sessions)
            var generators = [textModel.generator]
            for i in 1..<count {
                generators.append(textModel.makeGenerator(label: "whetstone.server.session.\(i)"))
            }
            pool = GeneratorPool(generators)
            if template.lowercased() == "auto" {
                chatTemplate = try? textModel.chatTemplate(named: "auto")
            } else {
                chatTemplate = try textModel.chatTemplate(named: template)
            }
        } else {
            pool = nil
            chatTemplate = nil
        }
    }

    public var sessions: Int { pool?.count ?? 0 }

    public func models() -> [ServedModel] {
        var list: [ServedModel] = []
        if let textModel { list.append(ServedModel(id: textModelID, kind: .generation, contextLength: textModel.contextLength)) }
        if let embedder {
            list.append(ServedModel(id: embeddingModelID, kind: .embedding, contextLength: embedder.maxSequenceLength))
        }
        return list
    }

    public var concurrency: Int { sessions }

    /// The one prompt rule (`PromptPreparation`): completions are plain text; chat is rendered with
    /// the model's template, whose end-of-turn text becomes a stop.
    public func prepare(_ request: GenerationRequest) async throws -> PreparedGeneration {
        guard let textModel, request.model == textModelID else { throw BackendError.unknownModel(request.model) }
        let content: PromptContent
        let template: ChatTemplate
        switch request.prompt {
        case let .text(prompt):
            content = .text(prompt)
            template = ChatTemplate(.none)
        case let .chat(messages):
            guard let chatTemplate, chatTemplate.kind != .none else {
                throw BackendError.invalidParameter(name: "model",
                                                    message: "no chat template is known for this model; use /v1/completions, or start the server with --template")
            }
            content = .messages(messages)
            template = chatTemplate
        }
        do {
            let prepared = try textModel.prepare(content, template: template, sampler: request.sampling, maxTokens: request.maxTokens,
                                                 stops: request.stop, checkingContext: true)
            return PreparedGeneration(request: request, job: prepared.job)
        } catch GenerationError.emptyPrompt {
            throw BackendError.invalidParameter(name: "prompt", message: "the prompt is empty")
        } catch let GenerationError.promptTooLong(tokens, limit) {
            throw BackendError.promptTooLong(tokens: tokens, limit: limit)
        } catch let error as GenerationError {
            if case .text = request.prompt { throw BackendError.invalidParameter(name: "prompt", message: "cannot tokenize the prompt: \(error)") }
            throw BackendError.invalidParameter(name: "messages", message: error.description)
        } catch {
            throw BackendError.invalidParameter(name: "prompt", message: "cannot tokenize the prompt: \(error)")
        }
    }

    public func generate(_ prepared: PreparedGeneration, onText: @escaping @Sendable (String) -> Bool) async throws -> GenerationOutcome {
        guard let pool, prepared.request.model == textModelID else { throw BackendError.unknownModel(prepared.request.model) }
        guard let generator = pool.checkout(prompt: prepared.job.promptTokens) else {
            throw BackendError.failed("every session is busy; the server admits at most \(pool.count) generations at once")
        }
        defer { pool.checkin(generator) }
        // The generator is idle here (checked out, nothing queued), so this returns at once.
        if !promptCache { generator.resetCache() }
        let deadline = prepared.timeLimit.map { DispatchTime.now().uptimeNanoseconds + UInt64(max(0, $0) * 1e9) }
        let timedOut = CancellationFlag()
        let result = await generator.generate(prepared.job) { event in
            switch event {
            case let .token(token):
                if let deadline, DispatchTime.now().uptimeNanoseconds > deadline {
                    timedOut.cancel()
                    return .stop
                }
                if !token.text.isEmpty, !onText(token.text) { return .stop }
            case let .text(piece):
                if !piece.isEmpty { _ = onText(piece) }
            case .finished, .failed, .promptProcessed:
                break
            }
            return .proceed
        }
        switch result {
        case let .success(summary):
            let finish: GenerationOutcome.FinishReason
            switch summary.stopReason {
            case .maxTokens, .contextFull: finish = .length
            case .cancelled where timedOut.isCancelled: finish = .length
            case .endOfGeneration, .stopSequence, .cancelled: finish = .stop
            }
            return GenerationOutcome(text: summary.text, promptTokens: summary.prompt.promptTokens,
                                     completionTokens: summary.generatedTokens, finishReason: finish)
        case let .failure(error):
            if case .invalidSetting(let name, _, _) = error {
                throw BackendError.invalidParameter(name: name, message: error.description)
            }
            throw BackendError.failed(error.description)
        }
    }

    public func embed(model: String, inputs: [String]) async throws -> (vectors: [[Float]], tokens: Int) {
        guard let embedder, model == embeddingModelID else { throw BackendError.unknownModel(model) }
        return try await withCheckedThrowingContinuation { continuation in
            embeddingQueue.async {
                do {
                    let tokens = inputs.reduce(0) { $0 + embedder.tokenIDs($1).count }
                    continuation.resume(returning: (try embedder.embed(inputs), tokens))
                } catch {
                    continuation.resume(throwing: BackendError.failed("embedding failed: \(error)"))
                }
            }
        }
    }
}

/// The generators not in use. The server's admission queue lets at most `count` generations run,
/// so a checkout finds a free one; waiting is the queue's job, not this list's.
final class GeneratorPool: Sendable {
    private let free: Mutex<[TextGenerator]>
    let count: Int

    init(_ generators: [TextGenerator]) {
        free = Mutex(generators)
        count = generators.count
    }

    /// A free generator, the one whose cache shares the longest prefix with `prompt` first.
    func checkout(prompt: [Int32]) -> TextGenerator? {
        free.withLock { free in
            guard !free.isEmpty else { return nil }
            var best = 0, bestLength = -1
            for (i, generator) in free.enumerated() {
                let cached = generator.cachedTokens
                var n = 0
                while n < cached.count, n < prompt.count, cached[n] == prompt[n] { n += 1 }
                if n > bestLength {
                    best = i
                    bestLength = n
                }
            }
            return free.remove(at: best)
        }
    }

    func checkin(_ generator: TextGenerator) {
        free.withLock { $0.append(generator) }
    }
}
