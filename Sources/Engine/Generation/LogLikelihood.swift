import Foundation

/// Log-likelihood of continuations after a context, the way lm-evaluation-harness scores
/// multiple-choice tasks: Σ log p(continuation token | context, earlier continuation tokens).
///
/// Runs on the generator's queue and shares its key/value cache with generation, so the
/// longest prefix already in the cache (a k-shot header shared by every question of a subject)
/// is not computed again.
extension TextGenerator {
    public struct ContinuationScore: Sendable, Equatable {
        /// Σ log p over the continuation's tokens (natural log).
        public var logLikelihood: Double
        /// True when every continuation token was the model's greedy choice (the harness's `is_greedy`).
        public var isGreedy: Bool
        public var tokens: Int
    }

    /// Scores every continuation after `context`. Both are token ids; `context` should start with
    /// the beginning-of-sequence token when the model wants one and must not be empty.
    public func scoreContinuations(context: [Int32], continuations: [[Int32]]) throws -> [ContinuationScore] {
        guard !context.isEmpty else { throw GenerationError.emptyPrompt }
        let longest = continuations.map(\.count).max() ?? 0
        guard context.count + longest <= model.contextLength else {
            throw GenerationError.promptTooLong(tokens: context.count + longest, contextLength: model.contextLength)
        }
        return try queue.sync { try scoreOnQueue(context: context, continuations: continuations) }
    }

    private func scoreOnQueue(context: [Int32], continuations: [[Int32]]) throws -> [ContinuationScore] {
        let vocabulary = model.vocabularySize
        var logits = [Float](repeating: 0, count: vocabulary)
        let batch = max(1, model.maximumBatchSize)
        var position = reuseCachedPrefix(of: context)
        while position < context.count {
            let end = min(position + batch, context.count)
            try forwardRecording(context[position..<end], at: position, logits: &logits)
            position = end
        }
        let contextLogits = logits
        var scores: [ContinuationScore] = []
        scores.reserveCapacity(continuations.count)
        for continuation in continuations {
            if cachedTokens.count > context.count {
                guard truncateRecordedCache(to: context.count) == context.count else {
                    throw GenerationError.modelFailed("the model's cache could not roll back to the shared context")
                }
            }
            logits = contextLogits
            var total = 0.0
            var greedy = true
            for (i, token) in continuation.enumerated() {
                guard token >= 0, Int(token) < vocabulary else {
                    throw GenerationError.invalidSetting(name: "continuation token", value: String(token),
                                                         rule: "inside the vocabulary (0..<\(vocabulary))")
                }
                let (logProbability, isArgmax) = logits.withUnsafeBufferPointer {
                    Self.logSoftmax($0, at: Int(token))
                }
                guard logProbability.isFinite else {
                    throw GenerationError.nonFiniteLogits(position: context.count + i - 1)
                }
                total += logProbability
                greedy = greedy && isArgmax
                if i + 1 < continuation.count {
                    try forwardRecording([token], at: context.count + i, logits: &logits)
                }
            }
            scores.append(ContinuationScore(logLikelihood: total, isGreedy: greedy, tokens: continuation.count))
        }
        return scores
    }

    /// log softmax(logits)[index] in double precision, and whether `index` is an argmax.
    static func logSoftmax(_ logits: UnsafeBufferPointer<Float>, at index: Int) -> (Double, Bool) {
        var maximum = -Float.infinity
        for v in logits where v > maximum { maximum = v }
        var sum = 0.0
        let shift = Double(maximum)
        for v in logits { sum += Foundation.exp(Double(v) - shift) }
        let value = logits[index]
        return (Double(value) - shift - Foundation.log(sum), value >= maximum)
    }
}
