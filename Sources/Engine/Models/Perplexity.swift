import Foundation

/// Perplexity of a token sequence by llama-perplexity's method: cut the tokens into chunks of
/// `context` (a last partial chunk is dropped), put BOS first in every chunk, run each chunk from
/// an empty cache, and score only the second half: the log-probability of token t+1 given tokens
/// 0...t for t = context/2 - 1 ..< context - 1. PPL = exp(mean negative log-likelihood).
public enum ChunkedPerplexity {
    public struct Result: Sendable, Equatable {
        public var perplexity: Double
        public var tokensScored: Int
        public var chunks: Int
    }

    public enum PerplexityError: Error, CustomStringConvertible, Equatable {
        case tooFewTokens(tokens: Int, context: Int)
        case contextTooSmall(Int)

        public var description: String {
            switch self {
            case let .tooFewTokens(tokens, context):
                return "the text has \(tokens) tokens, fewer than one chunk of \(context); use a longer file or a smaller --context"
            case let .contextTooSmall(c):
                return "--context \(c) is too small; use at least 4"
            }
        }
    }

    /// `progress(chunk, chunks, runningPerplexity)` is called after every chunk.
    /// `beginningOfSequence`: the token put first in every chunk (nil: the chunk's own first token,
    /// as llama-perplexity does for models without `add_bos_token`). `firstScoredRow`: the first
    /// row whose logits are scored (default `context / 2 - 1`; llama-perplexity's own tool scores
    /// rows `context / 2 ..< context - 1`, one token fewer per chunk).
    public static func evaluate(tokens: [Int32], context: Int, beginningOfSequence: Int32?, session: DecoderSession,
                                firstScoredRow: Int? = nil,
                                progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> Result {
        guard context >= 4 else { throw PerplexityError.contextTooSmall(context) }
        let chunks = tokens.count / context
        guard chunks > 0 else { throw PerplexityError.tooFewTokens(tokens: tokens.count, context: context) }
        let first = min(max(1, (firstScoredRow ?? context / 2 - 1) + 1), context - 1)
        var negativeLogLikelihood = 0.0
        var scored = 0
        var chunk = [Int32](repeating: 0, count: context)
        for c in 0..<chunks {
            for i in 0..<context { chunk[i] = tokens[c * context + i] }
            if let beginningOfSequence { chunk[0] = beginningOfSequence }
            session.reset()
            try session.evaluateAll(chunk, from: first - 1) { row, logits in
                guard row + 1 < context else { return }
                let target = Int(chunk[row + 1])
                negativeLogLikelihood -= logProbability(logits, target)
                scored += 1
            }
            progress(c + 1, chunks, Foundation.exp(negativeLogLikelihood / Double(max(scored, 1))))
        }
        return Result(perplexity: Foundation.exp(negativeLogLikelihood / Double(scored)), tokensScored: scored, chunks: chunks)
    }

    /// log softmax(logits)[target], accumulated in Double.
    public static func logProbability(_ logits: UnsafeBufferPointer<Float>, _ target: Int) -> Double {
        guard let base = logits.baseAddress, !logits.isEmpty else { return -.infinity }
        var maxValue = -Float.infinity
        for v in logits where v > maxValue { maxValue = v }
        let n = logits.count
        let m = SIMD16<Float>(repeating: maxValue)
        var total = 0.0
        var i = 0
        while i + 16 <= n {
            let e = Kernels.exp(UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) - m)
            total += Double(e.sum())
            i += 16
        }
        while i < n { total += Foundation.exp(Double(base[i] - maxValue)); i += 1 }
        return Double(logits[target] - maxValue) - Foundation.log(total)
    }
}
