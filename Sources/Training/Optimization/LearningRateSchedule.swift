import Foundation

/// Learning rate as a function of the optimizer step (1-based: the rate used by step 1, 2, …).
public enum LearningRateSchedule: Sendable, Equatable, Codable {
    case constant(Double)
    /// Linear warm-up from peak/warmupSteps (step 1) to `peak` (step warmupSteps), then cosine decay
    /// to `minimum` at `totalSteps` (held there afterwards).
    case warmupCosine(peak: Double, warmupSteps: Int, totalSteps: Int, minimum: Double)

    public func rate(atStep step: Int) -> Double {
        switch self {
        case let .constant(lr):
            return lr
        case let .warmupCosine(peak, warmup, total, minimum):
            if warmup > 0 && step <= warmup { return peak * Double(max(step, 0)) / Double(warmup) }
            let span = max(total - warmup, 1)
            let progress = min(max(Double(step - warmup) / Double(span), 0), 1)
            return minimum + (peak - minimum) * 0.5 * (1 + cos(Double.pi * progress))
        }
    }

    /// Rejects schedules that would make no sense to run.
    public func validate() throws {
        switch self {
        case let .constant(lr):
            guard lr > 0, lr.isFinite else { throw OptimizerError.invalidSettings("learning rate must be positive, got \(lr)") }
        case let .warmupCosine(peak, warmup, total, minimum):
            guard peak > 0, peak.isFinite, minimum >= 0, minimum <= peak else {
                throw OptimizerError.invalidSettings("cosine schedule needs 0 ≤ minimum ≤ peak and a positive peak")
            }
            guard warmup >= 0, total > warmup else {
                throw OptimizerError.invalidSettings("cosine schedule needs total steps (\(total)) above warm-up steps (\(warmup))")
            }
        }
    }
}
