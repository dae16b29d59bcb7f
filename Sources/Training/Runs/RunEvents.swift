import Foundation

/// What one optimizer step reports.
public struct StepResult: Sendable, Equatable {
    public var loss: Double
    public var learningRate: Double
    public var gradNorm: Double
    /// Tokens trained on in this step (for throughput).
    public var tokens: Int
    /// Method-specific figures (DPO rewards, RLHF reward / KL, …) logged beside the loss.
    public var extra: [String: Double]

    public init(loss: Double, learningRate: Double, gradNorm: Double, tokens: Int, extra: [String: Double] = [:]) {
        self.loss = loss
        self.learningRate = learningRate
        self.gradNorm = gradNorm
        self.tokens = tokens
        self.extra = extra
    }
}

/// One line of `metrics.jsonl` and the payload of a step event.
public struct StepMetrics: Sendable, Equatable, Codable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var validationLoss: Double?
    public var learningRate: Double
    public var gradNorm: Double
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    public var etaSeconds: Double
    public var extra: [String: Double]

    enum CodingKeys: String, CodingKey {
        case step, totalSteps = "total_steps", loss, validationLoss = "val_loss", learningRate = "lr", gradNorm = "grad_norm"
        case tokensPerSecond = "tokens_per_second", elapsedSeconds = "elapsed_s", etaSeconds = "eta_s", extra
    }

    public init(step: Int, totalSteps: Int, loss: Double, validationLoss: Double?, learningRate: Double, gradNorm: Double,
                tokensPerSecond: Double, elapsedSeconds: Double, etaSeconds: Double, extra: [String: Double]) {
        self.step = step
        self.totalSteps = totalSteps
        self.loss = loss
        self.validationLoss = validationLoss
        self.learningRate = learningRate
        self.gradNorm = gradNorm
        self.tokensPerSecond = tokensPerSecond
        self.elapsedSeconds = elapsedSeconds
        self.etaSeconds = etaSeconds
        self.extra = extra
    }
}

/// Events a run sends to whoever watches it (the workbench, the CLI progress bar).
public enum RunEvent: Sendable, Equatable {
    case started(firstStep: Int, totalSteps: Int, resumed: Bool)
    case step(StepMetrics)
    case checkpointSaved(step: Int, path: String)
    case paused(step: Int)
    case resumed(step: Int)
    case finished(RunSummary)
    case cancelled(step: Int)
    case failed(step: Int, message: String)
}

public struct RunSummary: Sendable, Equatable, Codable {
    public var steps: Int
    public var finalLoss: Double
    public var bestValidationLoss: Double?
    public var elapsedSeconds: Double
}

public enum RunError: Error, CustomStringConvertible, Equatable {
    case nonFiniteLoss(step: Int, value: Double)
    case checkpointUnreadable(path: String, reason: String)
    case noCheckpoint(folder: String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case let .nonFiniteLoss(step, value):
            return "loss became \(value) at step \(step); the last checkpoint is kept — lower the learning rate or check the data, then resume"
        case let .checkpointUnreadable(path, reason):
            return "checkpoint \(path) cannot be read (\(reason)); delete it to resume from the one before"
        case let .noCheckpoint(folder):
            return "no checkpoint in \(folder) to resume from; start the run without --resume"
        case let .invalidConfiguration(message):
            return message
        }
    }
}
