import CBLAS

/// Which key positions a query may attend to.
public enum AttentionMask: Sendable, Equatable {
    /// Every position of the sequence (encoders).
    case none
    /// Positions up to and including the query's own.
    case causal
    /// Causal, limited to the last `window` positions: query i sees keys j with 0 ≤ i − j < window
    /// (Gemma's local layers).
    case slidingWindow(Int)

    @inline(__always)
    func allows(query i: Int, key j: Int) -> Bool {
        switch self {
        case .none: return true
        case .causal: return j <= i
        case let .slidingWindow(w): return j <= i && i - j < w
        }
    }
}

public extension Graph {
    /// Scaled dot-product attention, softmax(scale · Q Kᵀ + mask) V, per sequence and head.
    ///
    /// `q` holds `[batch · sequenceLength, heads · headDim]` values, `k` and `v`
    /// `[batch · sequenceLength, kvHeads · headDim]` (grouped-query attention: query head h reads
    /// key/value head h / (heads / kvHeads)). The result is `[batch · sequenceLength, heads · headDim]`.
    /// The probabilities are kept for the backward pass (batch · heads · T² floats).
    func attention(q: Value, k: Value, v: Value, heads: Int, kvHeads: Int, headDim: Int,
                   sequenceLength t: Int, scale: Float, mask: AttentionMask) throws -> Value {
        let qv = value(q), kv = value(k), vv = value(v)
        guard heads > 0, kvHeads > 0, heads % kvHeads == 0, headDim > 0, t > 0 else {
            throw AutogradError.invalidArgument(operation: "attention",
                                                reason: "heads \(heads) must be a multiple of kvHeads \(kvHeads), sizes positive")
        }
        if case let .slidingWindow(w) = mask, w < 1 {
            throw AutogradError.invalidArgument(operation: "attention", reason: "sliding window \(w) must be at least 1")
        }
        let qWidth = heads * headDim, kvWidth = kvHeads * headDim
        guard qv.count % (t * qWidth) == 0 else {
            throw TensorError.invalidShape(operation: "attention q", shape: qv.shape,
                                           expected: "a multiple of \(t) rows × \(qWidth)")
        }
        let batch = qv.count / (t * qWidth)
        guard kv.count == batch * t * kvWidth, vv.count == kv.count else {
            throw TensorError.shapeMismatch(operation: "attention k/v", lhs: kv.shape, rhs: vv.shape)
        }
        let group = heads / kvHeads
        let probs = Tensor(shape: [batch, heads, t, t])
        let out = Tensor(shape: [batch * t, qWidth])
        let qp = qv.basePointer, kp = kv.basePointer, vp = vv.basePointer, pp = probs.basePointer, op = out.basePointer
        let boxes = UncheckedSendableBox((qp, kp, vp, pp, op))
        // Work units are (sequence, KV head): the query heads of one group write disjoint outputs,
        // and in the backward pass they accumulate into the same dK/dV, so a group stays on one lane.
        let units = batch * kvHeads
        Parallel.forRanges(units, minimumPerLane: max(1, 4096 / max(t * t, 1))) { range in
            let (qp, kp, vp, pp, op) = boxes.value
            for unit in range {
                let b = unit / kvHeads, kvh = unit % kvHeads
                for h in (kvh * group)..<((kvh + 1) * group) {
                    let qh = qp + b * t * qWidth + h * headDim
                    let kvOffset = b * t * kvWidth + kvh * headDim
                    let p = pp + (b * heads + h) * t * t
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(headDim), scale,
                                qh, Int32(qWidth), kp + kvOffset, Int32(kvWidth), 0, p, Int32(t))
                    for i in 0..<t {
                        let row = p + i * t
                        for j in 0..<t where !mask.allows(query: i, key: j) { row[j] = -.infinity }
                        Kernels.softmax(row, output: row, t)
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(t), Int32(headDim), Int32(t), 1,
                                p, Int32(t), vp + kvOffset, Int32(kvWidth), 0, op + b * t * qWidth + h * headDim, Int32(qWidth))
                }
            }
        }
        return record(out, inputs: [q, k, v]) { g, dy in
            let needQ = g.requiresGrad(q), needK = g.requiresGrad(k), needV = g.requiresGrad(v)
            let dq = needQ ? g.gradBuffer(q).basePointer : nil
            let dk = needK ? g.gradBuffer(k).basePointer : nil
            let dv = needV ? g.gradBuffer(v).basePointer : nil
            // Read the kept probabilities through the tensor so the closure owns their storage.
            let pointers = UncheckedSendableBox((probs.basePointer, dy.basePointer, dq, dk, dv))
            Parallel.forRanges(units, minimumPerLane: max(1, 4096 / max(t * t, 1))) { range in
                let (pp, dyp, dq, dk, dv) = pointers.value
                let ds = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
                defer { ds.deallocate() }
                for unit in range {
                    let b = unit / kvHeads, kvh = unit % kvHeads
                    for h in (kvh * group)..<((kvh + 1) * group) {
                        let qOffset = b * t * qWidth + h * headDim
                        let kvOffset = b * t * kvWidth + kvh * headDim
                        let p = pp + (b * heads + h) * t * t
                        let doh = dyp + qOffset
                        if let dv {
                            // dV += Pᵀ · dO
                            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(t), Int32(headDim), Int32(t), 1,
                                        p, Int32(t), doh, Int32(qWidth), 1, dv + kvOffset, Int32(kvWidth))
                        }
                        guard needQ || needK else { continue }
                        // dP = dO · Vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P))
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(headDim), 1,
                                    doh, Int32(qWidth), vp + kvOffset, Int32(kvWidth), 0, ds, Int32(t))
                        for i in 0..<t {
                            let pr = p + i * t, dr = ds + i * t
                            let dotPD = Kernels.dot(pr, dr, t)
                            for j in 0..<t { dr[j] = pr[j] * (dr[j] - dotPD) }
                        }
                        if let dq {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(t), Int32(headDim), Int32(t), scale,
                                        ds, Int32(t), kp + kvOffset, Int32(kvWidth), 1, dq + qOffset, Int32(qWidth))
                        }
                        if let dk {
                            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(t), Int32(headDim), Int32(t), scale,
                                        ds, Int32(t), qp + qOffset, Int32(qWidth), 1, dk + kvOffset, Int32(kvWidth))
                        }
                    }
                }
            }
        }
    }
}
