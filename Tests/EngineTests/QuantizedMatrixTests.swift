import Foundation
import Testing
import TestSupport
import CKernels
@testable import Engine

/// Owns the bytes of an in-memory GGUF tensor for the tests.
final class OwnedBytes {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    init(_ bytes: [UInt8]) {
        count = bytes.count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count), alignment: 64)
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: count) }
    }
    deinit { pointer.deallocate() }
}

enum QuantTestData {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/quant")

    static func matrix(_ type: GGMLType, rows: Int, cols: Int, bytes: [UInt8], name: String = "w") throws -> QuantizedMatrix {
        let owner = OwnedBytes(bytes)
        let info = GGUFTensorInfo(name: name, dimensions: [cols, rows], type: type, offset: 0, byteCount: bytes.count)
        let tensor = GGUFTensor(info: info, bytes: UnsafeRawBufferPointer(start: owner.pointer, count: owner.count), owner: owner)
        return try QuantizedMatrix(tensor: tensor)
    }

    /// Offsets of the fp16 scale fields inside one block (set to sane values so nothing decodes to inf/NaN).
    static func halfFields(_ type: GGMLType) -> [Int] {
        switch type {
        case .q8_0, .q4_0, .q5_0: return [0]
        case .q4_K, .q5_K: return [0, 2]
        case .q6_K: return [208]
        default: return []
        }
    }

    /// Random blocks: random bytes with fp16 scales of realistic size, or random normal floats.
    static func randomBytes(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        let count = rows * cols
        switch type {
        case .f32:
            return (0..<count).flatMap { _ in withUnsafeBytes(of: rng.nextNormal().bitPattern.littleEndian, Array.init) }
        case .f16:
            return (0..<count).flatMap { _ in withUnsafeBytes(of: whet_fp32_to_fp16(rng.nextNormal()).littleEndian, Array.init) }
        case .bf16:
            return (0..<count).flatMap { _ in withUnsafeBytes(of: whet_fp32_to_bf16(rng.nextNormal()).littleEndian, Array.init) }
        default:
            let blocks = count / type.blockSize
            var bytes = (0..<(blocks * type.typeSize)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for b in 0..<blocks {
                for off in halfFields(type) {
                    let magnitude = Float(pow(10, Double(rng.nextUniform()) * 3 - 4))
                    let h = whet_fp32_to_fp16(rng.nextUniform() < 0.5 ? -magnitude : magnitude)
                    bytes[b * type.typeSize + off] = UInt8(h & 0xFF)
                    bytes[b * type.typeSize + off + 1] = UInt8(h >> 8)
                }
            }
            return bytes
        }
    }

    static func randomMatrix(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) throws -> QuantizedMatrix {
        try matrix(type, rows: rows, cols: cols, bytes: randomBytes(type, rows: rows, cols: cols, seed: seed))
    }

    static func randomVector(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in rng.nextNormal() }
    }

    /// Activations are rounded to 8-bit blocks before integer dot products (as llama.cpp does):
    /// 32 values per block for every block format, none for the float types.
    /// Activation values rounded with one scale, as llama.cpp does: 256 (Q8_K) for the K-quants,
    /// 32 (Q8_0) for the other block formats, none for float weights.
    static func activationBlock(_ type: GGMLType) -> Int {
        type.blockSize == 1 ? 0 : (type.blockSize == 256 ? 256 : 32)
    }

    /// |y − y_exact| allowed for one output: the 8-bit rounding of each activation block moves each
    /// x[c] by at most d/2 with d = max|x_block| / 127 — plus, for 32-value blocks, whose scale is
    /// stored in fp16 (relative error ≤ 2⁻¹¹), |q|·d·2⁻¹¹ ≤ 127·d/2048 — so the row error is at
    /// most Σ |W[r,c]| times that, plus fp32 accumulation error (1e-5 relative to Σ |W[r,c] x[c]|).
    static func tolerance(row w: UnsafePointer<Float>, x: UnsafePointer<Float>, cols: Int, activationBlock: Int) -> Double {
        var bound = 0.0, magnitude = 0.0
        var c = 0
        while c < cols {
            let n = activationBlock == 0 ? cols : activationBlock
            var maxAbs: Float = 0
            for i in c..<(c + n) { maxAbs = max(maxAbs, abs(x[i])) }
            let fp16Scale = activationBlock == 32 ? 127.0 / 2048 : 0
            let step = activationBlock == 0 ? 0 : Double(maxAbs) / 127 * (0.5 + fp16Scale) * 1.0001
            for i in c..<(c + n) {
                bound += Double(abs(w[i])) * step
                magnitude += Double(abs(w[i] * x[i]))
            }
            c += n
        }
        return bound + 1e-5 * magnitude + 1e-30
    }
}

@Suite struct QuantizedMatrixTests {
    struct Entry: Decodable { let type: UInt32; let rows: Int; let cols: Int }

    /// Dequantization against the gguf package's numpy dequantizers: bit-identical (0 ulp), since
    /// both do the same fp32 operations in the same order.
    @Test(arguments: ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K"])
    func dequantizationMatchesGGUFPackageExactly(_ name: String) throws {
        let manifest = try JSONDecoder().decode([String: Entry].self,
                                                from: Data(contentsOf: QuantTestData.fixtures.appendingPathComponent("manifest.json")))
        let entry = try #require(manifest[name])
        let type = try #require(GGMLType(rawValue: entry.type))
        #expect(type.name == name)
        let blocks = try [UInt8](Data(contentsOf: QuantTestData.fixtures.appendingPathComponent("\(name).blocks")))
        let expectedData = try Data(contentsOf: QuantTestData.fixtures.appendingPathComponent("\(name).f32"))
        let expected = expectedData.withUnsafeBytes { raw in (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self) } }
        let m = try QuantTestData.matrix(type, rows: entry.rows, cols: entry.cols, bytes: blocks)
        #expect(m.rows == entry.rows && m.cols == entry.cols)
        let all = m.dequantized().toArray().map(\.bitPattern)
        #expect(all == expected)
        var row = [Float](repeating: .nan, count: entry.cols)
        for r in 0..<entry.rows {
            row.withUnsafeMutableBufferPointer { m.dequantizeRow(r, into: $0.baseAddress!) }
            #expect(row.map(\.bitPattern) == Array(expected[(r * entry.cols)..<((r + 1) * entry.cols)]))
        }
    }

    /// Real rows of every type in the Gemma file, against the gguf package (FNV-1a of the fp32 bytes: exact).
    @Test(.enabled(if: TestModels.hasGemma)) func realGemmaRowsMatchGGUFPackageExactly() throws {
        let url = try #require(try TestModels.gemma())
        struct Row: Decodable { let tensor: String; let type: String; let row: Int; let count: Int; let fnv1a64: String; let sum: Double; let first: [Float] }
        struct File: Decodable { let rows: [Row] }
        let fixture = try JSONDecoder().decode(File.self, from: Data(contentsOf: QuantTestData.fixtures.appendingPathComponent("gemma_rows.json")))
        let file = try GGUFFile(path: url.path)
        for entry in fixture.rows {
            let m = try QuantizedMatrix(tensor: file.tensor(entry.tensor))
            #expect(m.type.name == entry.type)
            #expect(m.cols == entry.count)
            var values = [Float](repeating: 0, count: m.cols)
            values.withUnsafeMutableBufferPointer { m.dequantizeRow(entry.row, into: $0.baseAddress!) }
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            values.withUnsafeBytes { for b in $0 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01B3 } }
            #expect(String(hash, radix: 16).leftPadded(to: 16) == entry.fnv1a64, "\(entry.tensor) row \(entry.row)")
            #expect(Array(values.prefix(entry.first.count)) == entry.first, "\(entry.tensor) row \(entry.row)")
        }
    }

    /// multiply against a float64 product of the dequantized matrix, for decode (1 token), a few tokens,
    /// and prompt-sized batches; rows not a multiple of any tile.
    @Test(arguments: QuantizedMatrix.supportedTypes)
    func multiplyMatchesDequantizedProduct(_ type: GGMLType) throws {
        let cols = type.blockSize == 256 ? 512 : 320, rows = 77
        let m = try QuantTestData.randomMatrix(type, rows: rows, cols: cols, seed: UInt64(type.rawValue) + 1)
        let w = m.dequantized()
        for tokens in [1, 3, 20] {
            let x = QuantTestData.randomVector(tokens * cols, seed: UInt64(tokens) * 31)
            var y = [Float](repeating: .nan, count: tokens * rows)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, tokens: tokens, into: $0.baseAddress!) } }
            var worst = 0.0
            x.withUnsafeBufferPointer { xp in
                for t in 0..<tokens {
                    for r in 0..<rows {
                        let wr = w.basePointer + r * cols, xt = xp.baseAddress! + t * cols
                        var exact = 0.0
                        for c in 0..<cols { exact += Double(wr[c]) * Double(xt[c]) }
                        let tol = QuantTestData.tolerance(row: wr, x: xt, cols: cols, activationBlock: QuantTestData.activationBlock(type))
                        worst = max(worst, abs(Double(y[t * rows + r]) - exact) / tol)
                    }
                }
            }
            #expect(worst <= 1, "\(type) tokens \(tokens): error is \(worst)× the allowed bound")
        }
    }

    /// multiplyTransposed against a float64 product (fp32 arithmetic: relative 1e-5 of Σ|W·dy|).
    @Test(arguments: [GGMLType.f16, .q8_0, .q5_0, .q4_K, .q6_K])
    func multiplyTransposedMatchesDequantizedProduct(_ type: GGMLType) throws {
        let cols = type.blockSize == 256 ? 768 : 352, rows = 45
        let m = try QuantTestData.randomMatrix(type, rows: rows, cols: cols, seed: 99)
        let w = m.dequantized()
        for tokens in [1, 5] {
            let dy = QuantTestData.randomVector(tokens * rows, seed: 7)
            var dx = [Float](repeating: .nan, count: tokens * cols)
            dy.withUnsafeBufferPointer { d in dx.withUnsafeMutableBufferPointer { m.multiplyTransposed(d.baseAddress!, tokens: tokens, into: $0.baseAddress!) } }
            for t in 0..<tokens {
                for c in 0..<cols {
                    var exact = 0.0, magnitude = 0.0
                    for r in 0..<rows {
                        let p = Double(w.basePointer[r * cols + c]) * Double(dy[t * rows + r])
                        exact += p
                        magnitude += abs(p)
                    }
                    #expect(abs(Double(dx[t * cols + c]) - exact) <= 1e-5 * magnitude + 1e-30, "\(type) t \(t) c \(c)")
                }
            }
        }
    }

    /// Every SIMD level this CPU has gives the portable C path's result up to fp32 summation order
    /// (the integer parts are identical): relative 1e-5 of Σ |W[r,c] x[c]|.
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q5_0, .q4_K, .q5_K, .q6_K])
    func simdLevelsMatchPortableKernel(_ type: GGMLType) throws {
        let cols = type.blockSize == 256 ? 1024 : 640, rows = 37
        let m = try QuantTestData.randomMatrix(type, rows: rows, cols: cols, seed: 1234 + UInt64(type.rawValue))
        let w = m.dequantized()
        // 21 tokens: a full 16-token tile of the AVX-512 layout plus 4- and 1-token remainders.
        let tokens = 21
        let x = QuantTestData.randomVector(tokens * cols, seed: 55)
        func run(_ level: Int32) -> [Float] {
            var y = [Float](repeating: .nan, count: tokens * rows)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, tokens: tokens, into: $0.baseAddress!, level: level) } }
            return y
        }
        let portable = run(0)
        #expect(QuantizedMatrix.kernelLevel >= 0)
        for level in 1...max(1, QuantizedMatrix.kernelLevel) where level <= QuantizedMatrix.kernelLevel {
            let simd = run(level)
            for t in 0..<tokens {
                for r in 0..<rows {
                    var magnitude = 0.0
                    for c in 0..<cols { magnitude += Double(abs(w.basePointer[r * cols + c] * x[t * cols + c])) }
                    let i = t * rows + r
                    #expect(abs(Double(simd[i]) - Double(portable[i])) <= 1e-5 * magnitude, "\(type) level \(level) t \(t) r \(r): \(simd[i]) vs \(portable[i])")
                }
            }
        }
    }

    @Test func rejectsUnsupportedTypesAndShapes() throws {
        #expect(throws: QuantizedMatrixError.unsupportedType(tensor: "w", type: .q4_1)) {
            try QuantTestData.matrix(.q4_1, rows: 1, cols: 32, bytes: [UInt8](repeating: 0, count: 20))
        }
        let owner = OwnedBytes([UInt8](repeating: 0, count: 34 * 8))
        let info = GGUFTensorInfo(name: "cube", dimensions: [32, 2, 4], type: .q8_0, offset: 0, byteCount: 34 * 8)
        let cube = GGUFTensor(info: info, bytes: UnsafeRawBufferPointer(start: owner.pointer, count: owner.count), owner: owner)
        #expect(throws: QuantizedMatrixError.self) { try QuantizedMatrix(tensor: cube) }
        let error = QuantizedMatrixError.unsupportedType(tensor: "w", type: .iq2_xs)
        #expect(error.description.contains("IQ2_XS") && error.description.contains("Q4_K"))
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
