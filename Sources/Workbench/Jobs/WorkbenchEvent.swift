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

    public init(id: String, scores: [String: Double], prediction: String, reference: String) {
        self.id = id
        self.scores = scores
        self.prediction = prediction
        self.reference = reference
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
    case evaluationRow(EvaluationRow)
    case progress(done: Int, total: Int)
    /// A short message for a toast (errors included).
    case notice(String)
}
