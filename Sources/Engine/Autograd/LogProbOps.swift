#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-token log-probabilities of target tokens: the building block of every language-model loss
/// (SFT cross-entropy is their negative mean; DPO and GRPO sum them per sequence).
public extension Graph {
    /// `log softmax(logits[r])[targets[r]]` for each row of `logits` `[N, V]` → `[N]`. Rows whose target
    /// is `ignoreIndex` give 0 and pass no gradient. Only the per-row log-sum-exp is kept; the softmax
    /// is recomputed in the backward pass.
    func targetLogProbs(logits: Value, targets: [Int], ignoreIndex: Int = Graph.ignoreIndex) throws -> Value {
        let lv = value(logits)
        let vocab = lv.lastDimension, rows = lv.rowCount
        try Self.checkTargets(targets, rows: rows, vocabulary: vocab, ignoreIndex: ignoreIndex, operation: "log-probs")
        let logSumExp = Tensor(shape: [rows])
        let out = Tensor(shape: [rows])
        let lp = UncheckedSendableBox(lv.basePointer), lse = UncheckedSendableBox(logSumExp.basePointer)
        let op = UncheckedSendableBox(out.basePointer)
        Parallel.forRanges(rows, minimumPerLane: max(1, 65_536 / max(vocab, 1))) { range in
            for r in range where targets[r] != ignoreIndex {
                let l = Self.logSumExp(lp.value + r * vocab, vocab)
                lse.value[r] = l
                op.value[r] = lp.value[r * vocab + targets[r]] - l
            }
        }
        return record(out, inputs: [logits]) { g, dy in
            let dl = UncheckedSendableBox(g.gradBuffer(logits).basePointer), d = UncheckedSendableBox(dy.basePointer)
            Parallel.forRanges(rows, minimumPerLane: max(1, 65_536 / max(vocab, 1))) { range in
                for r in range where targets[r] != ignoreIndex {
                    Self.addLogProbGradient(logits: lp.value + r * vocab, logSumExp: lse.value[r], target: targets[r],
                                            scale: d.value[r], into: dl.value + r * vocab, vocab)
                }
            }
            withExtendedLifetime(logSumExp) {}
        }
    }

    /// Sum of the entries of `logProbs` (`[N]`) whose target counts, negated and divided by their number:
    /// the mean next-token cross-entropy.
    func meanNegativeLogLikelihood(_ logProbs: Value, targets: [Int], ignoreIndex: Int = Graph.ignoreIndex) -> Value {
        let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        return scale(sum(logProbs), by: counted > 0 ? -1 / Float(counted) : 0)
    }

    /// `targetLogProbs` of the logits `hidden · Eᵀ` through a frozen (quantized) output matrix `E`
    /// `[V, D]` (tied embeddings). Only rows that have a target are computed. When their logits fit in
    /// `keptLogitsBudget` floats they are computed in one product and kept, and the backward pass turns
    /// them in place into `onehot − softmax` and maps them back to `hidden` with one transposed product
    /// from `E`'s blocks (E is dequantized once per pass). Otherwise the logits are computed
    /// `chunkRows` at a time (a 262k vocabulary makes one row 1 MB) and recomputed chunk by chunk in
    /// the backward pass with the same kernel.
    func outputLogProbs(hidden: Value, head: QuantizedMatrix, targets: [Int], ignoreIndex: Int = Graph.ignoreIndex,
                        chunkRows: Int = 64, keptLogitsBudget: Int = 136 << 20) throws -> Value {
        let hv = value(hidden)
        let d = head.cols, vocab = head.rows
        guard hv.lastDimension == d else {
            throw TensorError.shapeMismatch(operation: "output log-probs", lhs: hv.shape, rhs: [vocab, d])
        }
        let rows = hv.rowCount
        try Self.checkTargets(targets, rows: rows, vocabulary: vocab, ignoreIndex: ignoreIndex, operation: "output log-probs")
        let counted = (0..<rows).filter { targets[$0] != ignoreIndex }
        let m = counted.count
        let keep = m * vocab <= keptLogitsBudget
        let chunk = keep ? max(m, 1) : max(1, chunkRows)
        let logSumExp = Tensor(shape: [max(m, 1)])
        let out = Tensor(shape: [rows])
        let gathered = Tensor(shape: [min(chunk, max(m, 1)), d])
        let logitsBuffer = Tensor(shape: [min(chunk, max(m, 1)), vocab])
        let hp = hv.basePointer

        /// Logits of counted rows start ..< start + n into `logitsBuffer`.
        func computeLogits(start: Int, n: Int) {
            for i in 0..<n { (gathered.basePointer + i * d).update(from: hp + counted[start + i] * d, count: d) }
            head.multiply(gathered.basePointer, tokens: n, into: logitsBuffer.basePointer)
        }
        var start = 0
        while start < m {
            let n = min(chunk, m - start)
            computeLogits(start: start, n: n)
            let lb = UncheckedSendableBox(logitsBuffer.basePointer), lse = UncheckedSendableBox(logSumExp.basePointer)
            let ob = UncheckedSendableBox(out.basePointer)
            let s = start
            Parallel.forRanges(n) { range in
                for i in range {
                    let row = counted[s + i]
                    let l = Self.logSumExp(lb.value + i * vocab, vocab)
                    lse.value[s + i] = l
                    ob.value[row] = lb.value[i * vocab + targets[row]] - l
                }
            }
            start += n
        }
        return record(out, inputs: [hidden]) { g, dy in
            let dh = g.gradBuffer(hidden).basePointer
            let back = Tensor(shape: [min(chunk, max(m, 1)), d])
            var start = 0
            while start < m {
                let n = min(chunk, m - start)
                // The kept logits are turned into their gradient in place (a graph runs backward once).
                if !keep { computeLogits(start: start, n: n) }
                let lb = UncheckedSendableBox(logitsBuffer.basePointer), lse = UncheckedSendableBox(logSumExp.basePointer)
                let db = UncheckedSendableBox(dy.basePointer)
                let s = start
                Parallel.forRanges(n) { range in
                    for i in range {
                        let row = counted[s + i]
                        let rowLogits = lb.value + i * vocab
                        // d logp / d logits = onehot − softmax, scaled by the incoming gradient.
                        let scale = db.value[row]
                        let l = lse.value[s + i]
                        for j in 0..<vocab { rowLogits[j] = -scale * expf(rowLogits[j] - l) }
                        rowLogits[targets[row]] += scale
                    }
                }
                head.multiplyTransposed(logitsBuffer.basePointer, tokens: n, into: back.basePointer)
                for i in 0..<n {
                    let dst = dh + counted[start + i] * d, src = back.basePointer + i * d
                    for j in 0..<d { dst[j] += src[j] }
                }
                start += n
            }
            withExtendedLifetime(hv) {}
        }
    }

    private static func checkTargets(_ targets: [Int], rows: Int, vocabulary: Int, ignoreIndex: Int,
                                     operation: String) throws {
        guard rows == targets.count else {
            throw TensorError.shapeMismatch(operation: operation, lhs: [rows, vocabulary], rhs: [targets.count])
        }
        for target in targets where target != ignoreIndex && (target < 0 || target >= vocabulary) {
            throw TensorError.indexOutOfRange(operation: operation + " target", index: target, bound: vocabulary)
        }
    }

    /// log Σ exp(row), accumulated in Double after subtracting the maximum.
    @inline(__always)
    private static func logSumExp(_ row: UnsafePointer<Float>, _ n: Int) -> Float {
        var maxValue = -Float.infinity
        for j in 0..<n where row[j] > maxValue { maxValue = row[j] }
        var s: Float = 0
        var total = 0.0
        // Float partial sums of 1024 terms keep the loop vectorisable; the Double total keeps precision.
        var j = 0
        while j < n {
            let end = min(n, j + 1024)
            s = 0
            for k in j..<end { s += expf(row[k] - maxValue) }
            total += Double(s)
            j = end
        }
        return maxValue + Float(log(total))
    }

    @inline(__always)
    private static func addLogProbGradient(logits: UnsafePointer<Float>, logSumExp l: Float, target: Int, scale: Float,
                                           into d: UnsafeMutablePointer<Float>, _ n: Int) {
        for j in 0..<n { d[j] -= scale * expf(logits[j] - l) }
        d[target] += scale
    }
}
