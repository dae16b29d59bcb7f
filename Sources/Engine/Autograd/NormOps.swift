/// Differentiable normalisations and rotary position embedding.
public extension Graph {
    /// RMSNorm over the last dimension: `x / sqrt(mean(x²) + eps) · (weight + weightOffset)`.
    /// `weightOffset` is 1 for checkpoints that store the weight minus one (Gemma in Hugging Face
    /// layout); GGUF files have it folded in already. `weight` may be nil (plain normalisation).
    func rmsnorm(_ x: Value, weight: Value?, eps: Float, weightOffset: Float = 0) throws -> Value {
        let xv = value(x)
        let n = xv.lastDimension, rows = xv.rowCount
        let wv = weight.map { value($0) }
        if let wv, wv.shape != [n] {
            throw TensorError.invalidShape(operation: "rmsnorm weight", shape: wv.shape, expected: "[\(n)]")
        }
        let out = Tensor(shape: xv.shape)
        let xp = xv.basePointer, op = out.basePointer
        let xb = UncheckedSendableBox(xp), ob = UncheckedSendableBox(op), wb = UncheckedSendableBox(wv?.basePointer)
        let rowsPerLane = max(1, 16_384 / max(n, 1))
        Parallel.forRanges(rows, minimumPerLane: rowsPerLane) { range in
            for r in range {
                let row = xb.value + r * n, y = ob.value + r * n
                let inv = 1 / (Kernels.dot(row, row, n) / Float(n) + eps).squareRoot()
                if let wp = wb.value {
                    for j in 0..<n { y[j] = row[j] * inv * (wp[j] + weightOffset) }
                } else {
                    for j in 0..<n { y[j] = row[j] * inv }
                }
            }
        }
        return record(out, inputs: weight.map { [x, $0] } ?? [x]) { g, dy in
            let d = dy.basePointer
            let dx = g.requiresGrad(x) ? g.gradBuffer(x).basePointer : nil
            let dw = weight.flatMap { g.requiresGrad($0) ? g.gradBuffer($0).basePointer : nil }
            let wp = wv?.basePointer
            // A frozen weight (the usual case under LoRA) needs no reduction over rows: split the rows.
            if dw == nil, let dx {
                let db = UncheckedSendableBox(d), dxb = UncheckedSendableBox(dx), wb = UncheckedSendableBox(wp)
                Parallel.forRanges(rows, minimumPerLane: rowsPerLane) { range in
                    for r in range {
                        let row = xb.value + r * n, dyr = db.value + r * n, dxr = dxb.value + r * n
                        let inv = 1 / (Kernels.dot(row, row, n) / Float(n) + eps).squareRoot()
                        var gyx: Float = 0
                        if let w = wb.value {
                            for j in 0..<n { gyx += dyr[j] * (w[j] + weightOffset) * row[j] }
                        } else {
                            gyx = Kernels.dot(dyr, row, n)
                        }
                        let c = inv * inv * inv * gyx / Float(n)
                        if let w = wb.value {
                            for j in 0..<n { dxr[j] += inv * dyr[j] * (w[j] + weightOffset) - c * row[j] }
                        } else {
                            for j in 0..<n { dxr[j] += inv * dyr[j] - c * row[j] }
                        }
                    }
                }
                return
            }
            for r in 0..<rows {
                let row = xp + r * n, dyr = d + r * n
                let inv = 1 / (Kernels.dot(row, row, n) / Float(n) + eps).squareRoot()
                if let dw {
                    for j in 0..<n { dw[j] += dyr[j] * row[j] * inv }
                }
                if let dx {
                    // gy = dy ⊙ w;  dx = inv·gy − inv³ · x · (gy·x) / n
                    var gyx: Float = 0
                    for j in 0..<n { gyx += dyr[j] * (wp.map { $0[j] + weightOffset } ?? 1) * row[j] }
                    let c = inv * inv * inv * gyx / Float(n)
                    let dxr = dx + r * n
                    for j in 0..<n {
                        let gy = dyr[j] * (wp.map { $0[j] + weightOffset } ?? 1)
                        dxr[j] += inv * gy - c * row[j]
                    }
                }
            }
        }
    }

    /// LayerNorm over the last dimension (population variance, as PyTorch), optional weight and bias.
    func layernorm(_ x: Value, weight: Value?, bias: Value?, eps: Float) throws -> Value {
        let xv = value(x)
        let n = xv.lastDimension, rows = xv.rowCount
        let wv = weight.map { value($0) }, bv = bias.map { value($0) }
        for t in [wv, bv] {
            if let t, t.shape != [n] {
                throw TensorError.invalidShape(operation: "layernorm weight/bias", shape: t.shape, expected: "[\(n)]")
            }
        }
        let out = try xv.layernorm(weight: wv, bias: bv, eps: eps)
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let xp = xv.basePointer
        return record(out, inputs: inputs) { g, dy in
            let d = dy.basePointer
            let dx = g.requiresGrad(x) ? g.gradBuffer(x).basePointer : nil
            let dw = weight.flatMap { g.requiresGrad($0) ? g.gradBuffer($0).basePointer : nil }
            let db = bias.flatMap { g.requiresGrad($0) ? g.gradBuffer($0).basePointer : nil }
            let wp = wv?.basePointer
            for r in 0..<rows {
                let row = xp + r * n, dyr = d + r * n
                let mean = Kernels.sum(row, n) / Float(n)
                var variance: Float = 0
                for j in 0..<n { variance += (row[j] - mean) * (row[j] - mean) }
                let inv = 1 / (variance / Float(n) + eps).squareRoot()
                var meanG: Float = 0, meanGX: Float = 0
                for j in 0..<n {
                    let xhat = (row[j] - mean) * inv
                    let gj = dyr[j] * (wp?[j] ?? 1)
                    meanG += gj
                    meanGX += gj * xhat
                    dw?[j] += dyr[j] * xhat
                    db?[j] += dyr[j]
                }
                meanG /= Float(n)
                meanGX /= Float(n)
                if let dx {
                    let dxr = dx + r * n
                    for j in 0..<n {
                        let xhat = (row[j] - mean) * inv
                        let gj = dyr[j] * (wp?[j] ?? 1)
                        dxr[j] += inv * (gj - meanG - xhat * meanGX)
                    }
                }
            }
        }
    }

    /// Rotary embedding of `x` seen as `[rows, heads, headDim]` (any shape with that many elements);
    /// row r sits at `positions[r]`. The gradient is the inverse rotation, i.e. rope at −position.
    func rope(_ x: Value, heads: Int, headDim: Int, positions: [Int], base: Float, style: RopeStyle,
              rotaryDim: Int? = nil, frequencyScale: Float = 1) throws -> Value {
        let xv = value(x)
        guard heads > 0, headDim > 0, xv.count == positions.count * heads * headDim else {
            throw TensorError.invalidShape(operation: "rope", shape: xv.shape,
                                           expected: "\(positions.count) rows × \(heads) heads × \(headDim)")
        }
        let viewShape = [positions.count, heads, headDim]
        let rotated = try xv.reshaped(viewShape).rope(positions: positions, base: base, style: style,
                                                      rotaryDim: rotaryDim, frequencyScale: frequencyScale)
        let out = try rotated.reshaped(xv.shape)
        let inverse = positions.map { -$0 }
        return record(out, inputs: [x]) { g, dy in
            // Shapes were validated in the forward pass, so the inverse rotation cannot fail.
            guard let back = try? dy.reshaped(viewShape).rope(positions: inverse, base: base, style: style,
                                                              rotaryDim: rotaryDim, frequencyScale: frequencyScale)
            else { preconditionFailure("rope backward: shape validated in forward") }
            addInto(g.gradBuffer(x), back)
        }
    }
}
