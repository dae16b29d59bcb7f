import CKernels

/// Half- and bfloat16 conversions, backed by the C kernels.
public enum Precision {
    public static func halfToFloat(_ bits: UInt16) -> Float { whet_fp16_to_fp32(bits) }
    public static func floatToHalf(_ value: Float) -> UInt16 { whet_fp32_to_fp16(value) }
    public static func bfloat16ToFloat(_ bits: UInt16) -> Float { whet_bf16_to_fp32(bits) }
    public static func floatToBFloat16(_ value: Float) -> UInt16 { whet_fp32_to_bf16(value) }

    public static func halfToFloat(_ src: UnsafeBufferPointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(dst.count >= src.count, "destination too small")
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        whet_fp16_to_fp32_row(s, d, src.count)
    }

    public static func bfloat16ToFloat(_ src: UnsafeBufferPointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(dst.count >= src.count, "destination too small")
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        whet_bf16_to_fp32_row(s, d, src.count)
    }

    public static func halfToFloat(_ values: [UInt16]) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { halfToFloat(s, into: $0) } }
        return out
    }

    public static func floatToHalf(_ values: [Float]) -> [UInt16] { values.map(floatToHalf) }

    public static func bfloat16ToFloat(_ values: [UInt16]) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { bfloat16ToFloat(s, into: $0) } }
        return out
    }

    public static func floatToBFloat16(_ values: [Float]) -> [UInt16] { values.map(floatToBFloat16) }
}
