import CKernels
import Foundation
import Testing

/// The C GELU-tanh gate kernels training uses (AVX-512 when present, scalar tail) against the
/// formulas evaluated in Double, over saturated, small and mid-range inputs.
struct GELUGateKernelTests {
    @Test func forwardAndBackwardMatchDoubleFormulas() {
        let n = 16 * 5 + 7  // vector blocks and a scalar tail
        let gate = (0..<n).map { i -> Float in
            let x = Float(i - n / 2) * 0.23
            return i % 11 == 0 ? x * 9 : x  // some beyond ±10 (tanh saturates)
        }
        let up = (0..<n).map { Float(($0 * 37) % 13) / 6.5 - 1 }
        let dy = (0..<n).map { Float(($0 * 19) % 7) / 3.5 - 1 }
        var out = [Float](repeating: .nan, count: n)
        var dGate = [Float](repeating: 0.25, count: n), dUp = [Float](repeating: -0.5, count: n)
        whet_gelu_tanh_product(gate, up, &out, n)
        whet_gelu_tanh_product_backward(gate, up, dy, &dGate, &dUp, n)
        let c = (2 / Double.pi).squareRoot(), a = 0.044715
        for i in 0..<n {
            let x = Double(gate[i]), u = Double(up[i]), d = Double(dy[i])
            let t = tanh(c * (x + a * x * x * x))
            let gelu = 0.5 * x * (1 + t)
            let slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * a * x * x)
            #expect(abs(Double(out[i]) - gelu * u) <= 1e-5 * max(1, abs(gelu * u)), "forward x=\(x)")
            #expect(abs(Double(dGate[i]) - (0.25 + d * u * slope)) <= 1e-5 * max(1, abs(d * u * slope)), "dgate x=\(x)")
            #expect(abs(Double(dUp[i]) - (-0.5 + d * gelu)) <= 1e-5 * max(1, abs(d * gelu)), "dup x=\(x)")
        }
        // A value does not depend on its offset in the buffer (policy and reference passes of DPO
        // see the same activations at different offsets).
        var shifted = [Float](repeating: .nan, count: n - 3)
        whet_gelu_tanh_product(Array(gate[3...]), Array(up[3...]), &shifted, n - 3)
        #expect(shifted == Array(out[3...]))
        // Either gradient may be skipped.
        var onlyUp = [Float](repeating: 0, count: n)
        whet_gelu_tanh_product_backward(gate, up, dy, nil, &onlyUp, n)
        #expect(zip(onlyUp, dUp).allSatisfy { abs($0 - ($1 + 0.5)) < 1e-5 * max(1, abs($0)) })
    }
}
