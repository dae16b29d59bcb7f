import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which nonlinearity a gated MLP applies to its gate (Gemma: GELU-tanh; Llama: SiLU).
public enum GateActivation: String, Sendable, Codable {
    case geluTanh
    case silu

    @inline(__always)
    func apply(_ x: Float) -> Float {
        switch self {
        case .geluTanh: return Kernels.geluTanh(x)
        case .silu: return Kernels.silu(x)
        }
    }

    @inline(__always)
    func derivative(_ x: Float) -> Float {
        switch self {
        case .geluTanh:
            let c: Float = 0.797_884_560_802_865_4 // sqrt(2/pi)
            let inner = c * (x + 0.044715 * x * x * x)
            let t = tanhf(inner)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
        case .silu:
            let s = 1 / (1 + expf(-x))
            return s * (1 + x * (1 - s))
        }
    }
}

/// Differentiable activations and the row softmax.
public extension Graph {
    func geluTanh(_ x: Value) -> Value { activation(x, .geluTanh) }

    func silu(_ x: Value) -> Value { activation(x, .silu) }

    /// `act(gate) ⊙ up`, the gated MLP middle, in one node (no stored intermediate).
    func gated(_ gate: Value, _ up: Value, activation: GateActivation) throws -> Value {
        let gv = value(gate), uv = value(up)
        guard gv.shape == uv.shape else {
            throw TensorError.shapeMismatch(operation: "gated activation", lhs: gv.shape, rhs: uv.shape)
        }
        let out = Tensor(shape: gv.shape)
        let gp = UncheckedSendableBox(gv.basePointer), upp = UncheckedSendableBox(uv.basePointer)
        let op = UncheckedSendableBox(out.basePointer)
        let count = out.count
        Parallel.forRanges(count, minimumPerLane: 32_768) { range in
            if activation == .geluTanh {
                // Vectorised in C (AVX-512): scalar tanhf was a tenth of a Gemma LoRA step.
                let i = range.lowerBound
                whet_gelu_tanh_product(gp.value + i, upp.value + i, op.value + i, range.count)
                return
            }
            for i in range { op.value[i] = activation.apply(gp.value[i]) * upp.value[i] }
        }
        return record(out, inputs: [gate, up]) { g, dy in
            let d = UncheckedSendableBox(dy.basePointer)
            let dg = g.requiresGrad(gate) ? UncheckedSendableBox(g.gradBuffer(gate).basePointer) : nil
            let du = g.requiresGrad(up) ? UncheckedSendableBox(g.gradBuffer(up).basePointer) : nil
            Parallel.forRanges(count, minimumPerLane: 32_768) { range in
                if activation == .geluTanh {
                    let i = range.lowerBound
                    whet_gelu_tanh_product_backward(gp.value + i, upp.value + i, d.value + i,
                                                    dg.map { $0.value + i }, du.map { $0.value + i }, range.count)
                    return
                }
                if let dg {
                    for i in range { dg.value[i] += d.value[i] * upp.value[i] * activation.derivative(gp.value[i]) }
                }
                if let du {
                    for i in range { du.value[i] += d.value[i] * activation.apply(gp.value[i]) }
                }
            }
        }
    }

    /// Softmax over the last dimension.
    func softmax(_ x: Value) -> Value {
        let out = value(x).softmax()
        let n = out.lastDimension, rows = out.rowCount
        return record(out, inputs: [x]) { g, dy in
            let dx = g.gradBuffer(x).basePointer, y = out.basePointer, d = dy.basePointer
            for r in 0..<rows {
                let base = r * n
                let dotYD = Kernels.dot(y + base, d + base, n)
                for j in 0..<n { dx[base + j] += y[base + j] * (d[base + j] - dotYD) }
            }
        }
    }

    private func activation(_ x: Value, _ kind: GateActivation) -> Value {
        let xv = value(x)
        let out = Tensor(shape: xv.shape)
        let xp = xv.basePointer, op = out.basePointer
        for i in 0..<out.count { op[i] = kind.apply(xp[i]) }
        return record(out, inputs: [x]) { g, dy in
            let dx = g.gradBuffer(x).basePointer, d = dy.basePointer
            for i in 0..<dy.count { dx[i] += d[i] * kind.derivative(xp[i]) }
        }
    }
}
