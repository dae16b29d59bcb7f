import Engine
import Foundation

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

    /// The prompt as token ids, and the stop sequences the request needs (chat adds the template's
    /// end-of-turn text for models that spell it out).
    struct PreparedPrompt {
        var tokens: [Int32]
        var stop: [String]
    }

    func prepare(_ request: GenerationRequest) throws -> PreparedPrompt {
        guard let textModel, request.model == textModelID else { throw BackendError.unknownModel(request.model) }
        let text: String
        var stop = request.stop
        var parseSpecial = false
        switch request.prompt {
        case let .text(prompt):
            text = prompt
        case let .chat(messages):
            guard let chatTemplate, chatTemplate.kind != .none else {
                throw BackendError.invalidParameter(name: "model",
                                                    message: "no chat template is known for this model; use /v1/completions, or start the server with --template")
            }
            do {
                text = try chatTemplate.render(messages, addGenerationPrompt: true)
            } catch let error as GenerationError {
                throw BackendError.invalidParameter(name: "messages", message: error.description)
            }
            stop += [chatTemplate.endOfTurnText].compactMap { $0 }
            parseSpecial = true
        }
        let tokens: [Int32]
        do {
            tokens = try textModel.encode(text, parseSpecialTokens: parseSpecial)
        } catch {
            throw BackendError.invalidParameter(name: "prompt", message: "cannot tokenize the prompt: \(error)")
        }
        guard !tokens.isEmpty else { throw BackendError.invalidParameter(name: "prompt", message: "the prompt is empty") }
        // At least one position must stay free for the first generated token.
        guard tokens.count < textModel.contextLength else {
            throw BackendError.promptTooLong(tokens: tokens.count, limit: textModel.contextLength)
        }
        return PreparedPrompt(tokens: tokens, stop: stop)
    }

    public func validate(_ request: GenerationRequest) async throws -> Int {
        try prepare(request).tokens.count
    }

    public func generate(_ request: GenerationRequest, onText: @escaping @Sendable (String) -> Bool) async throws -> GenerationOutcome {
        let prepared = try prepare(request)
        guard let pool else { throw BackendError.unknownModel(request.model) }
        let job = GenerationJob(promptTokens: prepared.tokens, sampler: request.sampling, maxTokens: request.maxTokens,
                                stopSequences: prepared.stop)
        let generator = await pool.checkout(prompt: prepared.tokens)
        // The generator is idle here (checked out, nothing queued), so this returns at once.
        if !promptCache { generator.resetCache() }
        let result: Result<GenerationSummary, GenerationError> = await withCheckedContinuation { continuation in
            generator.start(job) { event in
                switch event {
                case let .token(token):
                    if !token.text.isEmpty, !onText(token.text) { return .stop }
                case let .text(piece):
                    if !piece.isEmpty { _ = onText(piece) }
                case let .finished(summary):
                    continuation.resume(returning: .success(summary))
                case let .failed(error):
                    continuation.resume(returning: .failure(error))
                case .promptProcessed:
                    break
                }
                return .proceed
            }
        }
        await pool.checkin(generator)
        switch result {
        case let .success(summary):
            let finish: GenerationOutcome.FinishReason
            switch summary.stopReason {
            case .maxTokens, .contextFull: finish = .length
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

/// The generators not in use; a request waits (in arrival order) when all are busy.
actor GeneratorPool {
    private var free: [TextGenerator]
    private var waiters: [CheckedContinuation<TextGenerator, Never>] = []
    nonisolated let count: Int

    init(_ generators: [TextGenerator]) {
        free = generators
        count = generators.count
    }

    /// A free generator, the one whose cache shares the longest prefix with `prompt` first.
    func checkout(prompt: [Int32]) async -> TextGenerator {
        guard !free.isEmpty else {
            return await withCheckedContinuation { waiters.append($0) }
        }
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

    func checkin(_ generator: TextGenerator) {
        if waiters.isEmpty {
            free.append(generator)
        } else {
            waiters.removeFirst().resume(returning: generator)
        }
    }
}
