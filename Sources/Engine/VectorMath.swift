/// Vectorised transcendental row kernels for model hot paths. `expf`/`tanhf` one element at a
/// time cost ~20 ns each, which a prompt of a few hundred tokens through an FFN of 2048 pays
/// millions of times; these evaluate 16 lanes at once to float precision (~2 ulp).
public extension Kernels {
    /// e^x on 16 lanes: range reduction x = n·ln2 + r, a degree-6 polynomial for e^r on
    /// [-ln2/2, ln2/2] (Cephes' expf coefficients), then scaling by 2^n through the exponent bits.
    @inline(__always)
    static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let v = x.clamped(lowerBound: SIMD16(repeating: -87.0), upperBound: SIMD16(repeating: 88.0))
        // Adding 1.5·2^23 rounds to the nearest integer (ties to even) in the low mantissa bits, so
        // n and its Int32 bits come out of plain vector arithmetic (the generic Float→Int32 SIMD
        // conversion is scalar, lane by lane). Exact for |x| < 2^22, which the clamp guarantees.
        let shifted = v * 1.442_695_04 + 12_582_912.0
        let n = shifted - 12_582_912.0
        var r = v - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * (r * r) + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: SIMD16<Float>.self)
    }

    /// out[i] = gelu_tanh(gate[i]) · up[i], using gelu_tanh(x) = x · σ(2·√(2/π)·(x + 0.044715·x³)).
    static func geluTanhProduct(gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                output: UnsafeMutablePointer<Float>, _ n: Int) {
        let c: Float = 2 * 0.797_884_560_802_865_4
        var i = 0
        while i + 16 <= n {
            let x = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            let inner = c * (x + 0.044715 * x * x * x)
            let gelu = x / (1 + exp(-inner))
            UnsafeMutableRawPointer(output + i).storeBytes(of: gelu * u, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n {
            output[i] = geluTanh(gate[i]) * up[i]
            i += 1
        }
    }

    /// In-place softmax of `n` values (subtracting the maximum first).
    static func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n > 0 else { return }
        var maxValue = -Float.infinity
        for i in 0..<n where x[i] > maxValue { maxValue = x[i] }
        let m = SIMD16<Float>(repeating: maxValue)
        var total = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let e = exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m)
            UnsafeMutableRawPointer(x + i).storeBytes(of: e, as: SIMD16<Float>.self)
            total += e
            i += 16
        }
        var sum = total.sum()
        while i < n {
            let e = expf(x[i] - maxValue)
            x[i] = e
            sum += e
            i += 1
        }
        let inv = 1 / sum
        scale(x, by: inv, output: x, n)
    }

    /// y[i] += a · x[i].
    @inline(__always)
    static func addScaled(_ x: UnsafePointer<Float>, by a: Float, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        let va = SIMD16<Float>(repeating: a)
        var i = 0
        while i + 16 <= n {
            var acc = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
            // Not addProduct: without FMA in the baseline x86-64 target it becomes 16 calls to fmaf.
            acc += va * UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: acc, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { y[i] += a * x[i]; i += 1 }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
