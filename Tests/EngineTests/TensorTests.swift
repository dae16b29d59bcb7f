import Foundation
import Testing
@testable import Engine

/// Float64 references computed here, independently of the kernels under test.
private func ref(_ xs: [Float]) -> [Double] { xs.map(Double.init) }

private func expectClose(_ a: [Float], _ b: [Double], tol: Double = 1e-5, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    for (x, y) in zip(a, b) {
        #expect(abs(Double(x) - y) <= tol * max(1, abs(y)), "\(x) vs \(y)", sourceLocation: sourceLocation)
    }
}

private func randomValues(_ n: Int, seed: UInt64) -> [Float] {
    var g = SeededGenerator(seed: seed)
    return (0..<n).map { _ in g.nextNormal() }
}

@Suite struct TensorViewTests {
    @Test func shapesStridesAndElementAccess() throws {
        let t = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(t.strides == [3, 1])
        #expect(t[1, 2] == 6)
        t[0, 1] = 20
        #expect(t.toArray() == [1, 20, 3, 4, 5, 6])
    }

    @Test func rejectsWrongValueCount() {
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 2], values: [1, 2, 3]) }
    }

    @Test func transposeSliceAndReshapeAreViews() throws {
        let t = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let tt = t.transposed()
        #expect(tt.shape == [3, 2])
        #expect(!tt.isContiguous)
        #expect(tt.toArray() == [1, 4, 2, 5, 3, 6])
        #expect(tt.contiguous().isContiguous)
        let s = try t.slice(dim: 1, 1..<3)
        #expect(s.toArray() == [2, 3, 5, 6])
        s[0, 0] = 9 // writes through to the source
        #expect(t[0, 1] == 9)
        let r = try t.reshaped([3, -1])
        #expect(r.shape == [3, 2])
        #expect(t.row(1).toArray() == [4, 5, 6])
        #expect(throws: TensorError.self) { try t.reshaped([4, 2]) }
        #expect(throws: TensorError.self) { try t.slice(dim: 1, 2..<4) }
    }
}

@Suite struct TensorOpTests {
    @Test func matmulMatchesFloat64() throws {
        let m = 5, k = 7, n = 3
        let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2)
        let out = try Tensor.matmul(Tensor(shape: [m, k], values: a), Tensor(shape: [k, n], values: b))
        var expected = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { expected[i * n + j] += Double(a[i * k + p]) * Double(b[p * n + j]) } } }
        #expect(out.shape == [m, n])
        expectClose(out.toArray(), expected, tol: 1e-5)

        // Same product with the right operand stored as [N, K].
        let bt = try Tensor(shape: [k, n], values: b).transposed().contiguous()
        let out2 = try Tensor.matmul(Tensor(shape: [m, k], values: a), bt, transposeB: true)
        expectClose(out2.toArray(), expected, tol: 1e-5)

        // A transposed (non-contiguous) left operand is handled.
        let at = try Tensor(shape: [k, m], values: a).transposed()
        let out3 = try Tensor.matmul(at, Tensor(shape: [k, n], values: b))
        var expected3 = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { expected3[i * n + j] += Double(a[p * m + i]) * Double(b[p * n + j]) } } }
        expectClose(out3.toArray(), expected3, tol: 1e-5)

        #expect(throws: TensorError.self) { try Tensor.matmul(Tensor(shape: [2, 3]), Tensor(shape: [4, 2])) }
    }

    @Test func elementwiseWithBroadcast() throws {
        let a = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = try Tensor(shape: [2, 3], values: [6, 5, 4, 3, 2, 1])
        #expect(try (a + b).toArray() == [7, 7, 7, 7, 7, 7])
        #expect(try (a * b).toArray() == [6, 10, 12, 12, 10, 6])
        #expect(try (a + .vector([10, 20, 30])).toArray() == [11, 22, 33, 14, 25, 36])
        #expect(a.scaled(by: 0.5).toArray() == [0.5, 1, 1.5, 2, 2.5, 3])
        #expect(throws: TensorError.self) { try a + .vector([1, 2]) }
    }

    @Test func softmaxMatchesFloat64() throws {
        let x: [Float] = [1, 2, 3, 1000, 1001, 1002]
        let out = try Tensor(shape: [2, 3], values: x).softmax().toArray()
        let e = [exp(-2.0), exp(-1.0), 1.0]
        let z = e.reduce(0, +)
        let expected = e.map { $0 / z }
        expectClose(out, expected + expected, tol: 1e-6) // large inputs do not overflow
        let masked = try Tensor(shape: [3], values: [-.infinity, 0, -.infinity]).softmax().toArray()
        #expect(masked == [0, 1, 0])
    }

    @Test func rmsnormAndLayernormMatchFloat64() throws {
        let x = randomValues(2 * 8, seed: 3), w = randomValues(8, seed: 4), b = randomValues(8, seed: 5)
        let t = try Tensor(shape: [2, 8], values: x)
        let rms = try t.rmsnorm(weight: .vector(w), eps: 1e-6).toArray()
        let ln = try t.layernorm(weight: .vector(w), bias: .vector(b), eps: 1e-5).toArray()
        var expRms = [Double](), expLn = [Double]()
        for r in 0..<2 {
            let row = ref(Array(x[r * 8..<(r + 1) * 8]))
            let ms = row.map { $0 * $0 }.reduce(0, +) / 8
            expRms += row.enumerated().map { $0.element / (ms + 1e-6).squareRoot() * Double(w[$0.offset]) }
            let mean = row.reduce(0, +) / 8
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 8
            expLn += row.enumerated().map { ($0.element - mean) / (variance + 1e-5).squareRoot() * Double(w[$0.offset]) + Double(b[$0.offset]) }
        }
        expectClose(rms, expRms, tol: 1e-5)
        expectClose(ln, expLn, tol: 1e-5)
        let plain = try t.rmsnorm(weight: nil, eps: 0).toArray()
        let row0 = ref(Array(x[0..<8]))
        let ms0 = row0.map { $0 * $0 }.reduce(0, +) / 8
        expectClose(Array(plain[0..<8]), row0.map { $0 / ms0.squareRoot() }, tol: 1e-5)
        #expect(throws: TensorError.self) { try t.rmsnorm(weight: .vector([1, 2]), eps: 1e-6) }
    }

    @Test func activationsMatchHandValues() throws {
        let x: [Float] = [-3, -1, 0, 0.5, 1, 3]
        let gelu = try Tensor(shape: [6], values: x).geluTanh().toArray()
        let silu = try Tensor(shape: [6], values: x).silu().toArray()
        let expGelu = ref(x).map { 0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }
        let expSilu = ref(x).map { $0 / (1 + exp(-$0)) }
        expectClose(gelu, expGelu, tol: 1e-6)
        expectClose(silu, expSilu, tol: 1e-6)
        // Hand values: gelu_tanh(1) = 0.8411919906…, silu(1) = 0.7310585786…
        #expect(abs(gelu[4] - 0.841_191_99) < 1e-6)
        #expect(abs(silu[4] - 0.731_058_58) < 1e-6)
    }

    @Test func ropeRotatesTheRightPairs() throws {
        // One head of dim 4 at position 1 with base 10000: pair frequencies 1 and 10000^(-1/2) = 0.01.
        let x: [Float] = [1, 2, 3, 4]
        let neox = try Tensor(shape: [1, 4], values: x).rope(positions: [1], base: 10000, style: .neox).toArray()
        let (c0, s0, c1, s1) = (cos(1.0), sin(1.0), cos(0.01), sin(0.01))
        // neox pairs (0,2) and (1,3)
        expectClose(neox, [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 1 * s0 + 3 * c0, 2 * s1 + 4 * c1], tol: 1e-6)
        let inter = try Tensor(shape: [1, 4], values: x).rope(positions: [1], base: 10000, style: .interleaved).toArray()
        // interleaved pairs (0,1) and (2,3)
        expectClose(inter, [1 * c0 - 2 * s0, 1 * s0 + 2 * c0, 3 * c1 - 4 * s1, 3 * s1 + 4 * c1], tol: 1e-6)
        // Position 0 is the identity; [T, H, D] input rotates each head.
        let id = try Tensor(shape: [1, 2, 4], values: x + x).rope(positions: [0], base: 10000, style: .neox).toArray()
        #expect(id == x + x)
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 4]).rope(positions: [0], base: 10000, style: .neox) }
    }

    @Test func embeddingGathersRows() throws {
        let table = try Tensor(shape: [3, 2], values: [0, 1, 10, 11, 20, 21])
        #expect(try Tensor.embedding(table, ids: [2, 0, 2]).toArray() == [20, 21, 0, 1, 20, 21])
        #expect(throws: TensorError.self) { try Tensor.embedding(table, ids: [3]) }
    }

    @Test func largeRowOpsSplitAcrossCoresGiveSameResult() throws {
        let rows = 257, n = 300
        let x = randomValues(rows * n, seed: 9)
        let t = try Tensor(shape: [rows, n], values: x)
        let sm = t.softmax()
        for r in [0, 128, 256] {
            let s = Kernels.sum(UnsafePointer(sm.basePointer + r * n), n)
            #expect(abs(s - 1) < 1e-5)
        }
        var touched = [Int](repeating: 0, count: 1000)
        touched.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress!
            Parallel.forRanges(1000, lanes: 4) { range in for i in range { p[i] += 1 } }
        }
        #expect(touched.allSatisfy { $0 == 1 })
    }
}

@Suite struct PrecisionTests {
    @Test func halfPrecisionKnownBitPatterns() {
        #expect(Precision.floatToHalf(1.0) == 0x3C00)
        #expect(Precision.floatToHalf(-2.0) == 0xC000)
        #expect(Precision.floatToHalf(65504) == 0x7BFF)
        #expect(Precision.floatToHalf(70000) == 0x7C00) // overflow to +inf
        #expect(Precision.floatToHalf(0x1p-24) == 0x0001) // smallest subnormal
        #expect(Precision.floatToHalf(0.1) == 0x2E66)
        #expect(Precision.halfToFloat(0x3555) == 0.333_251_95)
        #expect(Precision.halfToFloat(0x0001) == 0x1p-24)
        #expect(Precision.halfToFloat(0x7C00) == .infinity)
        #expect(Precision.halfToFloat(0x7E00).isNaN)
        #expect(Precision.floatToHalf(.nan) & 0x7C00 == 0x7C00)
        // Round-trip every finite half value exactly.
        for bits in UInt16(0)...UInt16.max where (bits & 0x7C00) != 0x7C00 {
            #expect(Precision.floatToHalf(Precision.halfToFloat(bits)) == bits)
        }
        // Ties round to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
        #expect(Precision.floatToHalf(1 + 0x1p-11) == 0x3C00)
        #expect(Precision.floatToHalf(1 + 3 * 0x1p-11) == 0x3C02)
    }

    @Test func bfloat16KnownBitPatterns() {
        #expect(Precision.floatToBFloat16(1.0) == 0x3F80)
        #expect(Precision.floatToBFloat16(Float.pi) == 0x4049)
        #expect(Precision.bfloat16ToFloat(0x4049) == 3.140625)
        #expect(Precision.floatToBFloat16(-0.0) == 0x8000)
        #expect(Precision.bfloat16ToFloat(Precision.floatToBFloat16(.nan)).isNaN)
        let row = Precision.bfloat16ToFloat([0x3F80, 0xC000])
        #expect(row == [1, -2])
        #expect(Precision.halfToFloat([0x3C00, 0xC000]) == [1, -2])
    }
}

@Suite struct RandomTests {
    @Test func seededStreamsRepeatAndDiffer() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xs = (0..<8).map { _ in a.next() }
        #expect(xs == (0..<8).map { _ in b.next() })
        #expect(xs != (0..<8).map { _ in c.next() })
    }

    @Test func normalHasUnitMomentsAndUniformIsInRange() {
        var g = SeededGenerator(seed: 7)
        let n = 20000
        let xs = (0..<n).map { _ in Double(g.nextNormal()) }
        let mean = xs.reduce(0, +) / Double(n)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        #expect(abs(mean) < 0.03)
        #expect(abs(variance - 1) < 0.05)
        for _ in 0..<1000 {
            let u = g.nextUniform()
            #expect(u >= 0 && u < 1)
        }
        var order = Array(0..<10)
        g.shuffle(&order)
        #expect(order.sorted() == Array(0..<10))
    }
}
