import CKernels

/// Which SIMD level the C kernels run at: 0 portable C, 1 AVX2 + FMA, 2 AVX-512 (VNNI for the
/// quantized products, F for the fp32 attention kernels). Every level computes the same operations
/// in the same order (CKernels' "canonical order"), so the level changes speed, never a result;
/// `KernelLevelTests` holds every level to that on the machine that runs it.
struct KernelLevel: Sendable, Equatable, CustomStringConvertible {
    /// The level of the integer kernels (`whet_quant_matmul`), capped at what the CPU runs.
    let quantized: Int32
    /// The level of the fp32 attention kernels (`whet_f32_dots`, `whet_f32_weighted_sum`).
    let float: Int32

    init(_ level: Int32) {
        quantized = min(level, QuantizedMatrix.kernelLevel)
        float = min(level, KernelLevel.bestFloat)
    }

    static let bestFloat = Int32(whet_f32_best_level())
    static let best = KernelLevel(max(QuantizedMatrix.kernelLevel, bestFloat))
    /// Every level this CPU runs, portable first.
    static var available: [KernelLevel] { (0...max(QuantizedMatrix.kernelLevel, bestFloat)).map { KernelLevel($0) } }

    var description: String { "quantized \(quantized), fp32 \(float)" }
}
