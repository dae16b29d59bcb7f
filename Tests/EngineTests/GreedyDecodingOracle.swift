import Foundation
@testable import Engine

// A second, deliberately plain decode loop: the oracle the generator's temperature-0 path and the
// llama.cpp greedy fixtures are checked against. It lives with the tests because nothing else uses it.

/// The result of a greedy (argmax) continuation.
struct GreedyContinuation: Sendable, Equatable {
    enum StopReason: String, Sendable, Codable {
        case endOfGeneration = "end_of_generation"
        case maxTokens = "max_tokens"
        case contextFull = "context_full"
    }

    var tokenIds: [Int32]
    var stopReason: StopReason
    /// Prompt tokens run through the model (after the reused prefix).
    var promptTokensProcessed: Int
    var promptSeconds: Double
    var generationSeconds: Double
}

extension DecoderSession {
    /// Greedy continuation of `prompt`: appends the argmax token until `maxTokens` tokens, a token in
    /// `stopTokens` (not included), or the end of the context. Reuses the longest cached prefix of
    /// `prompt` when `cachedTokens` says what the cache holds.
    func generateGreedy(prompt: [Int32], maxTokens: Int, stopTokens: Set<Int32>,
                        cachedTokens: [Int32] = [], onToken: (Int32) -> Void = { _ in }) throws -> GreedyContinuation {
        guard !prompt.isEmpty else { throw ModelError.emptyInput }
        var shared = 0
        while shared < min(cachedTokens.count, count, prompt.count - 1), cachedTokens[shared] == prompt[shared] { shared += 1 }
        // The cache may keep less than asked (sliding-window layers); recompute from what it kept.
        shared = truncate(to: shared)
        let promptStart = DispatchTime.now().uptimeNanoseconds
        var logits = try evaluate(Array(prompt[shared...]))
        let promptSeconds = Double(DispatchTime.now().uptimeNanoseconds - promptStart) / 1e9

        var generated: [Int32] = []
        generated.reserveCapacity(max(0, maxTokens))
        var reason = GreedyContinuation.StopReason.maxTokens
        let start = DispatchTime.now().uptimeNanoseconds
        while generated.count < maxTokens {
            let next = Int32(logits.withUnsafeBufferPointer { Self.argmax($0) })
            if stopTokens.contains(next) { reason = .endOfGeneration; break }
            generated.append(next)
            onToken(next)
            if generated.count == maxTokens { break }
            if count >= contextLength { reason = .contextFull; break }
            logits = try evaluate(token: next)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return GreedyContinuation(tokenIds: generated, stopReason: reason, promptTokensProcessed: prompt.count - shared,
                                  promptSeconds: promptSeconds, generationSeconds: seconds)
    }

    /// Index of the largest value (the first one on ties, as llama.cpp's greedy sampler).
    static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in values.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return best
    }
}
