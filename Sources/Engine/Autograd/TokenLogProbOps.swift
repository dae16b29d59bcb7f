#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public extension Graph {
    /// Log-probability of each row's target token, log softmax(logits[r])[targets[r]], as a vector
    /// `[N]` (0 for rows whose target is `ignoreIndex`). Preference methods (DPO, GRPO) need the
    /// per-token values rather than one reduced loss: they combine them into sequence log-probs and
    /// seed `backward` with ∂loss/∂log p per token. Only the per-row log-sum-exp is kept; the softmax
    /// is recomputed in the backward pass straight into the gradient (the vocabulary may be 262k).
    func tokenLogProbs(logits: Value, targets: [Int], ignoreIndex: Int = Graph.ignoreIndex) throws -> Value {
        let lv = value(logits)
        let vocab = lv.lastDimension, rows = lv.rowCount
        guard rows == targets.count else {
            throw TensorError.shapeMismatch(operation: "token log-probs", lhs: lv.shape, rhs: [targets.count])
        }
        for target in targets where target != ignoreIndex && (target < 0 || target >= vocab) {
            throw TensorError.indexOutOfRange(operation: "token log-probs target", index: target, bound: vocab)
        }
        let logSumExp = Tensor(shape: [rows])
        let out = Tensor(shape: [rows])
        let lp = lv.basePointer, lse = logSumExp.basePointer, op = out.basePointer
        for r in 0..<rows where targets[r] != ignoreIndex {
            let row = lp + r * vocab
            var maxValue = -Float.infinity
            for j in 0..<vocab where row[j] > maxValue { maxValue = row[j] }
            var s = 0.0
            for j in 0..<vocab { s += Double(expf(row[j] - maxValue)) }
            let l = Double(maxValue) + log(s)
            lse[r] = Float(l)
            op[r] = Float(Double(row[targets[r]]) - l)
        }
        return record(out, inputs: [logits]) { g, dy in
            // ∂ log p(t) / ∂ logit_j = 1[j = t] − softmax_j
            let dl = g.gradBuffer(logits).basePointer, d = dy.basePointer, lse = logSumExp.basePointer
            for r in 0..<rows where targets[r] != ignoreIndex {
                let factor = d[r]
                guard factor != 0 else { continue }
                let row = lp + r * vocab, drow = dl + r * vocab
                let l = lse[r]
                for j in 0..<vocab { drow[j] -= factor * expf(row[j] - l) }
                drow[targets[r]] += factor
            }
        }
    }
}
