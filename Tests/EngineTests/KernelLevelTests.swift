import Foundation
import Testing
import TestSupport
import CKernels
@testable import Engine

/// Every SIMD level of the C kernels this CPU runs (portable C, AVX2, AVX-512) gives bit-identical
/// results, so a machine that picks another level cannot change a greedy continuation unnoticed
/// (issue #23: main failed on a CPU where a library picked another kernel). The levels' shared
/// summation order is written down in CKernels/quant_dot.c and f32_attention.c ("canonical order").
@Suite struct KernelLevelTests {
    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    @Test(arguments: [GGMLType.q8_0, .q4_0, .q5_0, .q4_K, .q5_K, .q6_K])
    func quantizedProductsAreBitIdenticalOnEveryLevel(_ type: GGMLType) throws {
        // 1056 = 33 blocks of 32: an odd block count for the 32-value formats (an unpaired last block).
        let cols = type.blockSize == 256 ? 1024 : 1056, rows = 29
        let m = try QuantTestData.randomMatrix(type, rows: rows, cols: cols, seed: 77 + UInt64(type.rawValue))
        // 37 tokens: two full 16-token tiles of the AVX-512 layout, then 4- and 1-token remainders.
        let tokens = 37
        let x = QuantTestData.randomVector(tokens * cols, seed: 91)
        func run(_ level: Int32) -> [Float] {
            var y = [Float](repeating: .nan, count: tokens * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xb = xp.baseAddress, let yb = yp.baseAddress else { return }
                    m.multiply(xb, tokens: tokens, into: yb, level: level)
                }
            }
            return y
        }
        let portable = run(0)
        #expect(!portable.contains { !$0.isFinite })
        for level in KernelLevel.available.map(\.quantized) where level > 0 {
            #expect(Self.bits(run(level)) == Self.bits(portable), "\(type) level \(level) differs from the portable kernel")
        }
    }

    @Test func attentionKernelsAreBitIdenticalOnEveryLevelAndCloseToExact() {
        var rng = SeededGenerator(seed: 5)
        for n in [1, 7, 15, 16, 17, 40, 64, 100, 256, 300] {
            for count in [1, 3, 4, 9] {
                let stride = n + 3
                let q = (0..<n).map { _ in rng.nextNormal() }
                let k = (0..<(count * stride)).map { _ in rng.nextNormal() }
                let p = (0..<count).map { _ in rng.nextUniform() }
                let start = (0..<n).map { _ in rng.nextNormal() }
                func run(_ level: Int32, accumulate: Bool) -> (dots: [Float], sum: [Float]) {
                    var dots = [Float](repeating: .nan, count: count)
                    var sum = accumulate ? start : [Float](repeating: .nan, count: n)
                    whet_f32_dots(level, q, k, stride, Int64(count), Int64(n), &dots)
                    whet_f32_weighted_sum(level, p, k, stride, Int64(count), Int64(n), &sum, accumulate ? 1 : 0)
                    return (dots, sum)
                }
                for accumulate in [false, true] {
                    let portable = run(0, accumulate: accumulate)
                    for j in 0..<count {
                        var exact = 0.0, magnitude = 0.0
                        for i in 0..<n {
                            exact += Double(q[i]) * Double(k[j * stride + i])
                            magnitude += abs(Double(q[i]) * Double(k[j * stride + i]))
                        }
                        #expect(abs(Double(portable.dots[j]) - exact) <= 1e-6 * magnitude, "dot n \(n) j \(j)")
                    }
                    for c in 0..<n {
                        var exact = accumulate ? Double(start[c]) : 0
                        for j in 0..<count { exact += Double(p[j]) * Double(k[j * stride + c]) }
                        #expect(abs(Double(portable.sum[c]) - exact) <= 1e-5 * (abs(exact) + 1), "weighted sum n \(n) c \(c)")
                    }
                    for level in KernelLevel.available.map(\.float) where level > 0 {
                        let simd = run(level, accumulate: accumulate)
                        #expect(Self.bits(simd.dots) == Self.bits(portable.dots), "dots n \(n) count \(count) level \(level)")
                        #expect(Self.bits(simd.sum) == Self.bits(portable.sum), "weighted sum n \(n) count \(count) level \(level)")
                    }
                }
            }
        }
    }

    /// The whole model: a prompt batch and two decode steps, through every level.
    @Test(.enabled(if: TestModels.hasGemma)) func gemmaLogitsAreBitIdenticalOnEveryLevel() throws {
        let url = try #require(try TestModels.gemma())
        let model = try Gemma3Model(path: url.path)
        let prompt: [Int32] = [2, 818, 5279, 529, 7001, 563]
        func logits(_ level: KernelLevel) throws -> [UInt32] {
            let session = model.makeSession(contextLength: 64, kernelLevel: level)
            var all = Self.bits(Array(try session.evaluate(prompt)))
            all += Self.bits(Array(try session.evaluate(token: 506)))
            all += Self.bits(Array(try session.evaluate(token: 5279)))
            return all
        }
        let levels = KernelLevel.available
        let reference = try logits(levels[0])
        for level in levels.dropFirst() {
            #expect(try logits(level) == reference, "level \(level) gives other logits than the portable kernels")
        }
    }

    /// A position's logits do not depend on how the tokens before it were batched: the prompt in
    /// one batch, one token at a time, or split in two batches.
    @Test(.enabled(if: TestModels.hasGemma)) func gemmaLogitsDoNotDependOnBatching() throws {
        let url = try #require(try TestModels.gemma())
        let model = try Gemma3Model(path: url.path)
        let prompt: [Int32] = [2, 818, 5279, 529, 7001, 563, 506, 5279, 529]
        let whole = Self.bits(Array(try model.makeSession(contextLength: 64).evaluate(prompt)))
        let single = model.makeSession(contextLength: 64)
        var last: [Float] = []
        for token in prompt { last = Array(try single.evaluate(token: token)) }
        #expect(Self.bits(last) == whole, "one token at a time")
        let split = model.makeSession(contextLength: 64)
        _ = try split.evaluate(Array(prompt[..<4]))
        #expect(Self.bits(Array(try split.evaluate(Array(prompt[4...])))) == whole, "two batches")
    }
}
