/// Differentiable reshapes, transposes, slices and concatenation. Results are contiguous copies
/// (a reshape of a contiguous value shares its storage, which is safe because values are never written).
public extension Graph {
    func reshape(_ x: Value, _ shape: [Int]) throws -> Value {
        let out = try value(x).reshaped(shape)
        return record(out, inputs: [x]) { g, dy in addInto(g.gradBuffer(x), dy) }
    }

    /// Swaps dimensions `a` and `b`.
    func transpose(_ x: Value, _ a: Int = 0, _ b: Int = 1) throws -> Value {
        let xv = value(x)
        guard a >= 0, b >= 0, a < xv.rank, b < xv.rank else {
            throw TensorError.invalidShape(operation: "transpose", shape: xv.shape, expected: "dimensions \(a) and \(b) to exist")
        }
        let out = xv.transposed(a, b).contiguous()
        return record(out, inputs: [x]) { g, dy in
            addInto(g.gradBuffer(x), dy.transposed(a, b).contiguous())
        }
    }

    /// Elements `range` of dimension `dim`.
    func slice(_ x: Value, dim: Int, _ range: Range<Int>) throws -> Value {
        let xv = value(x)
        let out = try xv.slice(dim: dim, range).contiguous()
        let outer = xv.shape[..<dim].reduce(1, *), inner = xv.shape[(dim + 1)...].reduce(1, *)
        let full = xv.shape[dim]
        return record(out, inputs: [x]) { g, dy in
            let dx = g.gradBuffer(x).basePointer, d = dy.basePointer
            let block = range.count * inner
            for o in 0..<outer {
                let dst = dx + o * full * inner + range.lowerBound * inner, src = d + o * block
                for i in 0..<block { dst[i] += src[i] }
            }
        }
    }

    /// Joins values along `dim`; all other dimensions must agree.
    func concat(_ parts: [Value], dim: Int) throws -> Value {
        guard !parts.isEmpty else {
            throw AutogradError.invalidArgument(operation: "concat", reason: "needs at least one value")
        }
        let shapes = parts.map { shape($0) }
        let rank = shapes[0].count
        guard dim >= 0, dim < rank else {
            throw TensorError.invalidShape(operation: "concat", shape: shapes[0], expected: "a dimension \(dim)")
        }
        for s in shapes where s.count != rank || s.enumerated().contains(where: { $0.offset != dim && $0.element != shapes[0][$0.offset] }) {
            throw TensorError.shapeMismatch(operation: "concat", lhs: shapes[0], rhs: s)
        }
        var outShape = shapes[0]
        outShape[dim] = shapes.map { $0[dim] }.reduce(0, +)
        let outer = outShape[..<dim].reduce(1, *), inner = outShape[(dim + 1)...].reduce(1, *)
        let out = Tensor(shape: outShape)
        let op = out.basePointer, rowBlock = outShape[dim] * inner
        var start = 0
        var starts: [Int] = []
        for (part, s) in zip(parts, shapes) {
            starts.append(start)
            let block = s[dim] * inner, src = value(part).basePointer
            for o in 0..<outer {
                (op + o * rowBlock + start * inner).update(from: src + o * block, count: block)
            }
            start += s[dim]
        }
        return record(out, inputs: parts) { g, dy in
            let d = dy.basePointer
            for (index, part) in parts.enumerated() where g.requiresGrad(part) {
                let block = shapes[index][dim] * inner
                let dp = g.gradBuffer(part).basePointer
                for o in 0..<outer {
                    let src = d + o * rowBlock + starts[index] * inner, dst = dp + o * block
                    for i in 0..<block { dst[i] += src[i] }
                }
            }
        }
    }
}
