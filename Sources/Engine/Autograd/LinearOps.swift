import CBLAS

/// Differentiable linear algebra: matrix products, elementwise sums and products, embeddings.
public extension Graph {
    /// `x · w` over the last dimension of `x` (leading dimensions flatten into rows). `w` is `[K, N]`,
    /// or `[N, K]` with `transposeW` (a weight stored one row per output, as checkpoints store them).
    /// Forward and both gradients go through `cblas_sgemm`.
    func matmul(_ x: Value, _ w: Value, transposeW: Bool = false) throws -> Value {
        let xv = value(x), wv = value(w)
        let out = try Tensor.matmul(xv, wv, transposeB: transposeW)
        let m = xv.rowCount, k = xv.lastDimension, n = out.lastDimension
        return record(out, inputs: [x, w]) { g, dy in
            guard m > 0, n > 0, k > 0 else { return }
            if g.requiresGrad(x) {
                // dx[M,K] += dy[M,N] · W (stored [N,K]) or dy · Wᵀ (stored [K,N])
                let dx = g.gradBuffer(x)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeW ? CblasNoTrans : CblasTrans,
                            Int32(m), Int32(k), Int32(n), 1, dy.basePointer, Int32(n),
                            wv.basePointer, Int32(transposeW ? k : n), 1, dx.basePointer, Int32(k))
            }
            if g.requiresGrad(w) {
                let dw = g.gradBuffer(w)
                if transposeW {
                    // dW[N,K] += dyᵀ[N,M] · x[M,K]
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(k), Int32(m), 1,
                                dy.basePointer, Int32(n), xv.basePointer, Int32(k), 1, dw.basePointer, Int32(k))
                } else {
                    // dW[K,N] += xᵀ[K,M] · dy[M,N]
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(n), Int32(m), 1,
                                xv.basePointer, Int32(k), dy.basePointer, Int32(n), 1, dw.basePointer, Int32(n))
                }
            }
        }
    }

    /// `a + b`: equal shapes, or `b` 1-D with the size of `a`'s last dimension (a bias, broadcast over rows).
    func add(_ a: Value, _ b: Value) throws -> Value {
        let av = value(a), bv = value(b)
        let out = try av + bv
        let broadcast = av.shape != bv.shape
        return record(out, inputs: [a, b]) { g, dy in
            if g.requiresGrad(a) { addInto(g.gradBuffer(a), dy) }
            if g.requiresGrad(b) {
                let db = g.gradBuffer(b)
                if broadcast { addRowSums(dy, into: db) } else { addInto(db, dy) }
            }
        }
    }

    /// `a ⊙ b`, with the same broadcasting as `add`.
    func mul(_ a: Value, _ b: Value) throws -> Value {
        let av = value(a), bv = value(b)
        let out = try av * bv
        let broadcast = av.shape != bv.shape
        return record(out, inputs: [a, b]) { g, dy in
            let rows = av.rowCount, n = av.lastDimension
            let dyp = dy.basePointer, ap = av.basePointer, bp = bv.basePointer
            if g.requiresGrad(a) {
                let da = g.gradBuffer(a).basePointer
                if broadcast {
                    for r in 0..<rows { for j in 0..<n { da[r * n + j] += dyp[r * n + j] * bp[j] } }
                } else {
                    for i in 0..<av.count { da[i] += dyp[i] * bp[i] }
                }
            }
            if g.requiresGrad(b) {
                let db = g.gradBuffer(b).basePointer
                if broadcast {
                    for r in 0..<rows { for j in 0..<n { db[j] += dyp[r * n + j] * ap[r * n + j] } }
                } else {
                    for i in 0..<av.count { db[i] += dyp[i] * ap[i] }
                }
            }
        }
    }

    /// `s · x` for a constant `s`.
    func scale(_ x: Value, by s: Float) -> Value {
        let out = value(x).scaled(by: s)
        return record(out, inputs: [x]) { g, dy in
            let dx = g.gradBuffer(x).basePointer, d = dy.basePointer
            for i in 0..<dy.count { dx[i] += s * d[i] }
        }
    }

    /// Rows `ids` of `table` `[V, D]` → `[ids.count, D]`; the gradient scatter-adds back into those rows
    /// (a token that occurs twice gets both contributions).
    func embedding(_ table: Value, ids: [Int]) throws -> Value {
        let out = try Tensor.embedding(value(table), ids: ids)
        let dim = value(table).lastDimension
        return record(out, inputs: [table]) { g, dy in
            let dt = g.gradBuffer(table).basePointer, d = dy.basePointer
            for (t, id) in ids.enumerated() {
                let row = dt + id * dim, src = d + t * dim
                for j in 0..<dim { row[j] += src[j] }
            }
        }
    }

    /// Sum of all elements → a scalar (shape `[]`).
    func sum(_ x: Value) -> Value {
        let xv = value(x)
        var total = 0.0
        let p = xv.basePointer
        for i in 0..<xv.count { total += Double(p[i]) }
        let out = Tensor.filled([], with: Float(total))
        return record(out, inputs: [x]) { g, dy in
            let s = dy.basePointer[0]
            let dx = g.gradBuffer(x).basePointer
            for i in 0..<xv.count { dx[i] += s }
        }
    }

    /// Mean of all elements → a scalar.
    func mean(_ x: Value) -> Value {
        let n = value(x).count
        return scale(sum(x), by: n > 0 ? 1 / Float(n) : 0)
    }

    /// Inverted dropout: zeroes each element with probability `p` and scales survivors by 1/(1-p), so
    /// evaluation needs no rescaling. The mask comes from `generator`, so a seeded run repeats exactly.
    func dropout(_ x: Value, probability p: Float, generator: inout SeededGenerator) throws -> Value {
        guard p >= 0, p < 1 else {
            throw AutogradError.invalidArgument(operation: "dropout", reason: "probability \(p) must be in [0, 1)")
        }
        guard p > 0 else { return x }
        let xv = value(x)
        let mask = Tensor(shape: xv.shape)
        let keep = 1 / (1 - p)
        let mp = mask.basePointer
        for i in 0..<xv.count { mp[i] = generator.nextUniform() < p ? 0 : keep }
        let out = try xv * mask
        return record(out, inputs: [x]) { g, dy in
            let dx = g.gradBuffer(x).basePointer, d = dy.basePointer
            for i in 0..<dy.count { dx[i] += d[i] * mp[i] }
            withExtendedLifetime(mask) {}
        }
    }
}

/// db[j] += Σ_rows dy[r, j]
func addRowSums(_ dy: Tensor, into db: Tensor) {
    let n = db.count, rows = dy.count / max(n, 1)
    let d = dy.basePointer, b = db.basePointer
    for r in 0..<rows {
        let row = d + r * n
        for j in 0..<n { b[j] += row[j] }
    }
}
