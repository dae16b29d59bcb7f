import CBLAS

/// Shape-checked tensor operations. Inputs may be views; outputs are new contiguous tensors.
/// Row-wise operations act on the last dimension and split rows over cores.
public extension Tensor {
    /// Matrix product of the last two dimensions through `cblas_sgemm`:
    /// `a` is `[M, K]`; `b` is `[K, N]`, or `[N, K]` when `transposeB` (a weight stored row-per-output).
    /// Leading dimensions of `a` are flattened into M.
    static func matmul(_ a: Tensor, _ b: Tensor, transposeB: Bool = false) throws -> Tensor {
        guard a.rank >= 1, b.rank == 2 else {
            throw TensorError.invalidShape(operation: "matmul", shape: b.shape, expected: "a 2-D right operand")
        }
        let k = a.lastDimension
        let m = a.rowCount
        let bK = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        guard bK == k else { throw TensorError.shapeMismatch(operation: "matmul", lhs: a.shape, rhs: b.shape) }
        let left = a.isContiguous ? a : a.contiguous()
        let right = b.isContiguous ? b : b.contiguous()
        var outShape = Array(a.shape.dropLast())
        outShape.append(n)
        let out = Tensor(shape: outShape)
        guard m > 0, n > 0, k > 0 else { return out }
        // Row blocks over the worker lanes (OpenBLAS itself runs on one thread: Parallel.blasOnOneThread).
        let pointers = UncheckedSendableBox((left.basePointer, right.basePointer, out.basePointer))
        Parallel.forRanges(m, minimumPerLane: max(1, (1 << 18) / max(1, n * k))) { rows in
            let (l, r, o) = pointers.value
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(rows.count), Int32(n), Int32(k), 1,
                        l + rows.lowerBound * k, Int32(k),
                        r, Int32(transposeB ? k : n),
                        0, o + rows.lowerBound * n, Int32(n))
        }
        return out
    }

    /// Elementwise sum. `other` has the same shape, or is 1-D with the size of the last dimension
    /// (broadcast over rows, as a bias).
    static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(rhs, "add", Kernels.add) }

    /// Elementwise product, with the same broadcasting as `+`.
    static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(rhs, "mul", Kernels.mul) }

    func scaled(by s: Float) -> Tensor {
        mapRows { x, y, n in Kernels.scale(x, by: s, output: y, n) }
    }

    func softmax() -> Tensor { mapRows { x, y, n in Kernels.softmax(x, output: y, n) } }

    func geluTanh() -> Tensor { mapRows { x, y, n in Kernels.geluTanh(x, output: y, n) } }

    func silu() -> Tensor { mapRows { x, y, n in Kernels.silu(x, output: y, n) } }

    /// RMSNorm over the last dimension; `weight` (1-D, last-dimension sized) is optional.
    func rmsnorm(weight: Tensor?, eps: Float) throws -> Tensor {
        let w = try weight.map { try checkedVector($0, "rmsnorm weight") }
        return withOptionalPointer(w) { wp in
            mapRows { x, y, n in Kernels.rmsnorm(x, weight: wp, eps: eps, output: y, n) }
        }
    }

    /// LayerNorm over the last dimension (population variance, as PyTorch).
    func layernorm(weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        let w = try weight.map { try checkedVector($0, "layernorm weight") }
        let b = try bias.map { try checkedVector($0, "layernorm bias") }
        return withOptionalPointer(w) { wp in
            withOptionalPointer(b) { bp in
                mapRows { x, y, n in Kernels.layernorm(x, weight: wp, bias: bp, eps: eps, output: y, n) }
            }
        }
    }

    /// Rotary embedding on a `[T, H, D]` tensor (or `[T, D]` for one head); token t sits at `positions[t]`.
    func rope(positions: [Int], base: Float, style: RopeStyle, rotaryDim: Int? = nil,
              frequencyScale: Float = 1) throws -> Tensor {
        guard rank == 2 || rank == 3 else {
            throw TensorError.invalidShape(operation: "rope", shape: shape, expected: "[tokens, heads, headDim] or [tokens, headDim]")
        }
        guard positions.count == shape[0] else {
            throw TensorError.shapeMismatch(operation: "rope", lhs: shape, rhs: [positions.count])
        }
        let headDim = lastDimension
        let rot = rotaryDim ?? headDim
        guard rot % 2 == 0, rot <= headDim else {
            throw TensorError.invalidShape(operation: "rope", shape: shape, expected: "an even rotary dimension ≤ \(headDim)")
        }
        let out = contiguous()
        let heads = rank == 3 ? shape[1] : 1
        let p = out.basePointer
        // Angles once per distinct position for all heads and sequences of the batch (a packed
        // training batch repeats positions 0..<T per row): trig was a twentieth of a LoRA step.
        let half = rot / 2
        let low = positions.min() ?? 0, high = positions.max() ?? 0
        let byPosition = high - low + 1 <= positions.count
        let tablePositions = byPosition ? Array(low...high) : positions
        let table = UnsafeMutablePointer<Float>.allocate(capacity: max(1, tablePositions.count * 2 * half))
        defer { table.deallocate() }
        for (k, position) in tablePositions.enumerated() {
            Kernels.ropeAngles(position: position, rotaryDim: rot, base: base, frequencyScale: frequencyScale,
                               cos: table + k * 2 * half, sin: table + k * 2 * half + half)
        }
        let tableBox = UncheckedSendableBox(UnsafePointer(table))
        positions.withUnsafeBufferPointer { pos in
            Parallel.forRanges(shape[0], minimumPerLane: 8) { range in
                for t in range {
                    let angles = tableBox.value + (byPosition ? pos[t] - low : t) * 2 * half
                    for h in 0..<heads {
                        Kernels.rope(p + (t * heads + h) * headDim, rotaryDim: rot, style: style,
                                     cos: angles, sin: angles + half)
                    }
                }
            }
        }
        return out
    }

    /// Rows `ids` of an embedding table `[V, D]` → `[ids.count, D]`.
    static func embedding(_ table: Tensor, ids: [Int]) throws -> Tensor {
        guard table.rank == 2 else {
            throw TensorError.invalidShape(operation: "embedding", shape: table.shape, expected: "[vocab, dim]")
        }
        let vocab = table.shape[0], dim = table.shape[1]
        for id in ids where id < 0 || id >= vocab {
            throw TensorError.indexOutOfRange(operation: "embedding", index: id, bound: vocab)
        }
        let src = table.isContiguous ? table : table.contiguous()
        let out = Tensor(shape: [ids.count, dim])
        for (t, id) in ids.enumerated() {
            (out.basePointer + t * dim).update(from: src.basePointer + id * dim, count: dim)
        }
        return out
    }

    // MARK: helpers

    /// Applies a row kernel to every row of the last dimension, in parallel for large inputs.
    func mapRows(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let src = isContiguous ? self : contiguous()
        let out = Tensor(shape: shape)
        let n = lastDimension
        let rows = rowCount
        guard n > 0, rows > 0 else { return out }
        let x = UnsafePointer(src.basePointer), y = out.basePointer
        Parallel.forRanges(rows, minimumPerLane: max(1, 16_384 / n)) { range in
            for r in range { kernel(x + r * n, y + r * n, n) }
        }
        return out
    }

    private func binary(_ other: Tensor, _ name: String,
                        _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) throws -> Tensor {
        let a = isContiguous ? self : contiguous()
        let b = other.isContiguous ? other : other.contiguous()
        let out = Tensor(shape: shape)
        if other.shape == shape {
            kernel(a.basePointer, b.basePointer, out.basePointer, count)
        } else if other.rank == 1, other.count == lastDimension {
            let n = lastDimension
            for r in 0..<rowCount {
                kernel(a.basePointer + r * n, b.basePointer, out.basePointer + r * n, n)
            }
        } else {
            throw TensorError.shapeMismatch(operation: name, lhs: shape, rhs: other.shape)
        }
        return out
    }

    private func checkedVector(_ v: Tensor, _ what: String) throws -> Tensor {
        guard v.rank == 1, v.count == lastDimension else {
            throw TensorError.invalidShape(operation: what, shape: v.shape, expected: "[\(lastDimension)]")
        }
        return v.isContiguous ? v : v.contiguous()
    }
}

private func withOptionalPointer<R>(_ t: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let t else { return body(nil) }
    return withExtendedLifetime(t) { body(UnsafePointer(t.basePointer)) }
}
