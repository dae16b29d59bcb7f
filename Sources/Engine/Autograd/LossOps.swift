#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public extension Graph {
    /// Target value that excludes a position from the loss (prompt tokens, padding), as PyTorch's -100.
    static let ignoreIndex = -100

    /// How a token-level loss is reduced.
    enum LossReduction: Sendable, Equatable {
        /// Mean over the counted (non-ignored) positions; 0 when none is counted.
        case mean
        /// Sum over counted positions (divide yourself, e.g. by the tokens of all micro-batches).
        case sum
    }

    /// Softmax cross-entropy of `logits` `[N, V]` against `targets` (N ids; `ignoreIndex` skips a row),
    /// fused so that only the per-row log-sum-exp is kept: the softmax is recomputed in the backward
    /// pass straight into the gradient, which matters when V is a 262k vocabulary.
    func crossEntropy(logits: Value, targets: [Int], ignoreIndex: Int = Graph.ignoreIndex,
                      reduction: LossReduction = .mean) throws -> Value {
        let lv = value(logits)
        let vocab = lv.lastDimension, rows = lv.rowCount
        guard rows == targets.count else {
            throw TensorError.shapeMismatch(operation: "cross-entropy", lhs: lv.shape, rhs: [targets.count])
        }
        for target in targets where target != ignoreIndex && (target < 0 || target >= vocab) {
            throw TensorError.indexOutOfRange(operation: "cross-entropy target", index: target, bound: vocab)
        }
        let counted = targets.filter { $0 != ignoreIndex }.count
        let logSumExp = Tensor(shape: [rows])
        let lp = lv.basePointer, lse = logSumExp.basePointer
        var total = 0.0
        for r in 0..<rows where targets[r] != ignoreIndex {
            let row = lp + r * vocab
            var maxValue = -Float.infinity
            for j in 0..<vocab where row[j] > maxValue { maxValue = row[j] }
            var s = 0.0
            for j in 0..<vocab { s += Double(expf(row[j] - maxValue)) }
            let l = Double(maxValue) + log(s)
            lse[r] = Float(l)
            total += l - Double(row[targets[r]])
        }
        let divisor: Double = reduction == .mean ? Double(max(counted, 1)) : 1
        let out = Tensor.filled([], with: Float(total / divisor))
        return record(out, inputs: [logits]) { g, dy in
            let factor = dy.basePointer[0] / Float(divisor)
            let dl = g.gradBuffer(logits).basePointer, lse = logSumExp.basePointer
            for r in 0..<rows where targets[r] != ignoreIndex {
                let row = lp + r * vocab, drow = dl + r * vocab
                let l = lse[r]
                for j in 0..<vocab { drow[j] += factor * expf(row[j] - l) }
                drow[targets[r]] -= factor
            }
        }
    }
}
