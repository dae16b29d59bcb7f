import Foundation
import Server
import Training

/// Figures a finished generation reports (the Prompt and Compare panes show them).
public struct GenerationStats: Sendable, Equatable {
    public var promptTokens: Int
    public var generatedTokens: Int
    /// Prompt tokens actually processed (fewer than `promptTokens` when a cached prefix was reused).
    public var promptTokensProcessed: Int
    public var promptTokensPerSecond: Double
    public var tokensPerSecond: Double
    public var stopReason: String

    public init(promptTokens: Int, generatedTokens: Int, promptTokensProcessed: Int, promptTokensPerSecond: Double,
                tokensPerSecond: Double, stopReason: String) {
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.promptTokensProcessed = promptTokensProcessed
        self.promptTokensPerSecond = promptTokensPerSecond
        self.tokensPerSecond = tokensPerSecond
        self.stopReason = stopReason
    }
}

/// One scored example of an evaluation (the Evaluate pane's table row).
public struct EvaluationRow: Sendable, Equatable {
    public var id: String
    public var scores: [String: Double]
    public var prediction: String
    public var reference: String
    /// The prompt the model was given (rows of an eval run; empty for a scored predictions file).
    public var prompt: String

    public init(id: String, scores: [String: Double], prediction: String, reference: String, prompt: String = "") {
        self.id = id
        self.scores = scores
        self.prediction = prediction
        self.reference = reference
        self.prompt = prompt
    }
}

/// Everything background work tells the UI.
public enum WorkbenchEvent: Sendable, Equatable {
    case jobStarted(kind: JobKind, title: String)
    case jobEnded(kind: JobKind, state: JobState)
    /// A streamed piece of generated text; `slot` tells Compare's columns apart (0 elsewhere).
    case text(slot: Int, piece: String)
    case generationFinished(slot: Int, GenerationStats)
    case training(RunEvent)
    /// A training run finished and wrote its result here (adapter/ or reward/).
    case trainingOutput(String)
    case evaluationRow(EvaluationRow)
    /// Corpus-level figures of a finished evaluation (corpus BLEU, chrF).
    case corpusScores([String: Double])
    case progress(done: Int, total: Int)
    /// A short message for a toast (errors included).
    case notice(String)
    /// The prompt of generation `slot` went through the model (`reused` tokens came from the cache).
    case promptProcessed(slot: Int, tokens: Int, reused: Int)
    /// A generated token's text (may be empty while a character or stop sequence is held back),
    /// with the running count of generated tokens and the seconds since generation began.
    case generated(slot: Int, piece: String, tokens: Int, seconds: Double)
    /// Prompt tokens of the text being edited (`revision` tells stale counts apart).
    case tokenCount(revision: Int, count: Int)
    /// A model was opened and is now the active one.
    case modelLoaded(ActiveModel)
    /// The installed models, inspected.
    case modelsListed([ModelListing])
    /// Scope notes read from the workspace.
    case notesLoaded([NoteSnapshot])
    /// A scope note was written to the workspace.
    case noteSaved(NoteSnapshot)
    /// The Prompt pane's retrieval index is open (or missing).
    case retrievalIndex(RetrievalIndexStatus)
    /// The passages retrieved for generation `slot`, best first.
    case retrieved(slot: Int, [RetrievedChunk])
    /// The Deploy pane's server listens; then each request / server message; then its end.
    case serverStarted(DeployedServer)
    case serverLog(ServerLogEntry)
    case serverStopped(error: String?)
    /// An export finished.
    case exported(ExportResult)
}

/// The model generation uses, as the panes show it.
public struct ActiveModel: Sendable, Equatable {
    public var name: String
    public var path: String
    public var architecture: String
    public var contextLength: Int
    public init(name: String, path: String, architecture: String, contextLength: Int) {
        self.name = name; self.path = path; self.architecture = architecture; self.contextLength = contextLength
    }
}

/// One row of the Models pane: what `ModelInfo.inspect` found, or why it could not read the model.
public struct ModelListing: Sendable, Equatable {
    public var name: String
    public var path: String
    public var architecture: String?
    public var architectureClass: String?
    public var parameters: Int?
    /// Tensor types by count, most common first (e.g. "Q4_K ×120, F32 ×40").
    public var quantization: String?
    public var contextLength: Int?
    public var fileBytes: Int?
    public var error: String?
    public init(name: String, path: String, architecture: String? = nil, architectureClass: String? = nil, parameters: Int? = nil,
                quantization: String? = nil, contextLength: Int? = nil, fileBytes: Int? = nil, error: String? = nil) {
        self.name = name; self.path = path; self.architecture = architecture; self.architectureClass = architectureClass
        self.parameters = parameters; self.quantization = quantization; self.contextLength = contextLength
        self.fileBytes = fileBytes; self.error = error
    }
}

/// A scope note as the Scope pane holds it.
public struct NoteSnapshot: Sendable, Equatable {
    public var id: Int64?
    public var title: String
    public var body: String
    public var updatedAt: Date?
    public init(id: Int64?, title: String, body: String, updatedAt: Date?) {
        self.id = id; self.title = title; self.body = body; self.updatedAt = updatedAt
    }
}
