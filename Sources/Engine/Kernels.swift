#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Row kernels over raw buffers. The model code calls these directly in its hot loops;
/// the `Tensor` operations in `TensorOps.swift` are thin shape-checking wrappers around them.
/// All take `n` elements starting at the given pointers; `input` and `output` may alias.
public enum Kernels {
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            // Not addProduct: without FMA in the baseline x86-64 target it becomes 16 calls to fmaf.
            acc += va * vb
            i += 16
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// y = x / sqrt(mean(x²) + eps) * weight  (weight may be nil for a plain normalisation).
    public static func rmsnorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, eps: Float,
                               output y: UnsafeMutablePointer<Float>, _ n: Int) {
        let meanSquare = dot(x, x, n) / Float(n)
        let scale = 1 / (meanSquare + eps).squareRoot()
        if let w = weight {
            for i in 0..<n { y[i] = x[i] * scale * w[i] }
        } else {
            for i in 0..<n { y[i] = x[i] * scale }
        }
    }

    /// y = (x - mean) / sqrt(var + eps) * weight + bias, with the population variance.
    public static func layernorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                                 eps: Float, output y: UnsafeMutablePointer<Float>, _ n: Int) {
        let mean = sum(x, n) / Float(n)
        var variance: Float = 0
        for i in 0..<n {
            let d = x[i] - mean
            variance += d * d
        }
        variance /= Float(n)
        let scale = 1 / (variance + eps).squareRoot()
        for i in 0..<n {
            var v = (x[i] - mean) * scale
            if let w = weight { v *= w[i] }
            if let b = bias { v += b[i] }
            y[i] = v
        }
    }

    /// Numerically stable softmax (subtracts the maximum first).
    public static func softmax(_ x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n > 0 else { return }
        var maxValue = -Float.infinity
        for i in 0..<n where x[i] > maxValue { maxValue = x[i] }
        if maxValue == -.infinity {
            // Every entry masked: leave a uniform distribution rather than NaNs.
            for i in 0..<n { y[i] = 1 / Float(n) }
            return
        }
        var total: Float = 0
        for i in 0..<n {
            let e = expf(x[i] - maxValue)
            y[i] = e
            total += e
        }
        let inv = 1 / total
        for i in 0..<n { y[i] *= inv }
    }

    /// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    @inline(__always)
    public static func geluTanh(_ x: Float) -> Float {
        let c: Float = 0.797_884_560_802_865_4 // sqrt(2/pi)
        return 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x)))
    }

    /// SiLU (swish): x·σ(x).
    @inline(__always)
    public static func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

    /// Whether every value is a number below +∞ (−∞ is allowed: a masked logit). One pass with
    /// 16-wide comparisons, so checking a 262k-entry logits row costs a few microseconds.
    public static func allBelowInfinity(_ x: UnsafePointer<Float>, _ n: Int) -> Bool {
        var i = 0
        var ok = SIMDMask<SIMD16<Int32>>(repeating: true)
        let limit = SIMD16<Float>(repeating: .infinity)
        while i + 16 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            // NaN compares false, so it fails `v < +∞` just as +∞ does.
            ok .&= v .< limit
            i += 16
        }
        guard all(ok) else { return false }
        while i < n {
            if !(x[i] < .infinity) { return false }
            i += 1
        }
        return true
    }

    /// GELU with the exact erf form BERT's and GPT-2's "gelu" mean: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
    public static func geluErf(_ x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.707_106_781_186_547_6)) }
    }

    public static func geluTanh(_ x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = geluTanh(x[i]) }
    }

    public static func silu(_ x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = silu(x[i]) }
    }

    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = a[i] + b[i] }
    }

    public static func mul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = a[i] * b[i] }
    }

    public static func scale(_ x: UnsafePointer<Float>, by s: Float, output y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = x[i] * s }
    }

    /// The angles of rotary position embedding at `position`: cos and sin of pair i's angle
    /// position · base^(-2i/rotaryDim) / `frequencyScale` (linear RoPE scaling), computed in double,
    /// for i < rotaryDim / 2. One table serves every head at that position.
    public static func ropeAngles(position: Int, rotaryDim: Int, base: Float, frequencyScale: Float = 1,
                                  cos cosines: UnsafeMutablePointer<Float>, sin sines: UnsafeMutablePointer<Float>) {
        let p = Double(position)
        for i in 0..<(rotaryDim / 2) {
            let angle = p * (pow(Double(base), -2.0 * Double(i) / Double(rotaryDim)) / Double(frequencyScale))
            cosines[i] = Float(cos(angle))
            sines[i] = Float(sin(angle))
        }
    }

    /// Rotary position embedding of one head vector with the angles of its position (`ropeAngles`).
    /// `.neox` rotates pairs (i, i + rotaryDim/2) — the layout Gemma, Llama-HF and GPT-NeoX use;
    /// `.interleaved` rotates pairs (2i, 2i+1) — the original GPT-J / Meta Llama layout. Only the
    /// first `rotaryDim` values rotate (partial rotary).
    public static func rope(_ x: UnsafeMutablePointer<Float>, rotaryDim: Int, style: RopeStyle,
                            cos cosines: UnsafePointer<Float>, sin sines: UnsafePointer<Float>) {
        let half = rotaryDim / 2
        for i in 0..<half {
            let c = cosines[i], s = sines[i]
            let (ia, ib) = style == .neox ? (i, i + half) : (2 * i, 2 * i + 1)
            let a = x[ia], b = x[ib]
            x[ia] = a * c - b * s
            x[ib] = a * s + b * c
        }
    }
}

public enum RopeStyle: String, Sendable, Codable {
    case neox
    case interleaved
}
