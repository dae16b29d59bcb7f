import Engine

/// What the HTTP layer needs from the engine. The server never touches tensors: it validates,
/// queues and streams; a backend adapts the engine's generation sessions and embedding models.
public protocol InferenceBackend: Sendable {
    /// Models this backend serves (`GET /v1/models`).
    func models() -> [ServedModel]
    /// Generations that can run at once; the server admits that many and queues the rest.
    var concurrency: Int { get }
    /// Renders, tokenizes and checks the request against the model's context, once per request.
    /// Throws `BackendError` (unknown model, prompt too long, invalid parameter).
    func prepare(_ request: GenerationRequest) async throws -> PreparedGeneration
    /// Runs one prepared generation (the server calls it only inside an admission slot). `onText`
    /// receives each new piece of text (stop sequences already removed) and returns false to stop
    /// early (client gone). Runs engine work off the caller's thread and returns when it ends.
    func generate(_ prepared: PreparedGeneration, onText: @escaping @Sendable (String) -> Bool) async throws -> GenerationOutcome
    /// Embeds each input; returns one vector per input and the number of tokens read.
    func embed(model: String, inputs: [String]) async throws -> (vectors: [[Float]], tokens: Int)
}

public struct ServedModel: Sendable, Equatable {
    public enum Kind: String, Sendable { case generation, embedding }
    public let id: String
    public let kind: Kind
    public let contextLength: Int
    public init(id: String, kind: Kind, contextLength: Int) {
        self.id = id
        self.kind = kind
        self.contextLength = contextLength
    }
}

public enum PromptInput: Sendable, Equatable {
    /// `/v1/completions`: the text goes to the model as is.
    case text(String)
    /// `/v1/chat/completions`: rendered with the model's chat template.
    case chat([ChatMessage])
}

public struct GenerationRequest: Sendable, Equatable {
    public var model: String
    public var prompt: PromptInput
    public var maxTokens: Int
    /// The engine's own sampler settings, filled from the OpenAI names (`OpenAIRequestParser.sampling`).
    public var sampling: SamplerSettings
    public var stop: [String]
    public init(model: String, prompt: PromptInput, maxTokens: Int, sampling: SamplerSettings, stop: [String]) {
        self.model = model
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
    }
}

/// A request with its prompt tokenized and its stops decided: what `prepare` hands to `generate`.
public struct PreparedGeneration: Sendable, Equatable {
    public var request: GenerationRequest
    public var job: GenerationJob
    /// Seconds the generation may run once it starts (nil: no limit); the server sets it.
    public var timeLimit: Double?
    public init(request: GenerationRequest, job: GenerationJob, timeLimit: Double? = nil) {
        self.request = request
        self.job = job
        self.timeLimit = timeLimit
    }
    public var promptTokenCount: Int { job.promptTokens.count }
}

public struct GenerationOutcome: Sendable, Equatable {
    public enum FinishReason: String, Sendable { case stop, length }
    public var text: String
    public var promptTokens: Int
    public var completionTokens: Int
    public var finishReason: FinishReason
    public init(text: String, promptTokens: Int, completionTokens: Int, finishReason: FinishReason) {
        self.text = text
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.finishReason = finishReason
    }
}

public enum BackendError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownModel(String)
    case promptTooLong(tokens: Int, limit: Int)
    case invalidParameter(name: String, message: String)
    case failed(String)

    public var description: String {
        switch self {
        case let .unknownModel(m): return "The model '\(m)' does not exist; GET /v1/models lists the served models"
        case let .promptTooLong(tokens, limit):
            return "This model's maximum context length is \(limit) tokens; the prompt has \(tokens). Shorten the prompt"
        case let .invalidParameter(name, message): return "\(name): \(message)"
        case let .failed(message): return message
        }
    }
}
