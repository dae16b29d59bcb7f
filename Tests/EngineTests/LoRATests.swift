import Foundation
import Testing
@testable import Engine

/// A frozen layer that only answers the two products, counting calls: proves LoRA never needs W itself.
private final class CountingFrozenLinear: FrozenLinear {
    let dense: DenseFrozenLinear
    var forwardCalls = 0, backwardCalls = 0
    init(_ weight: Tensor) throws { dense = try DenseFrozenLinear(weight: weight) }
    var inputFeatures: Int { dense.inputFeatures }
    var outputFeatures: Int { dense.outputFeatures }
    func forward(_ x: Tensor) throws -> Tensor { forwardCalls += 1; return try dense.forward(x) }
    func backwardInput(_ dy: Tensor) throws -> Tensor { backwardCalls += 1; return try dense.backwardInput(dy) }
}

private func random(_ shape: [Int], seed: UInt64) -> Tensor {
    var g = SeededGenerator(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t.basePointer[i] = g.nextNormal() }
    return t
}

@Suite struct LoRATests {
    @Test func startsEqualToTheBaseWithPEFTInitialisation() throws {
        let w = random([6, 5], seed: 1)
        var generator = SeededGenerator(seed: 2)
        let lora = try LoRALinear(module: "layers.0.q_proj", base: try DenseFrozenLinear(weight: w), rank: 2, alpha: 4,
                                  generator: &generator)
        #expect(lora.a.name == "layers.0.q_proj.lora_A.weight" && lora.a.shape == [2, 5])
        #expect(lora.b.name == "layers.0.q_proj.lora_B.weight" && lora.b.shape == [6, 2])
        #expect(lora.b.value.toArray().allSatisfy { $0 == 0 })
        let bound = 1 / Float(5).squareRoot()
        let aValues = lora.a.value.toArray()
        #expect(aValues.allSatisfy { abs($0) <= bound } && aValues.contains { $0 != 0 })
        #expect(lora.scale == 2)
        let x = random([3, 5], seed: 3)
        let g = Graph()
        var dropoutGenerator = SeededGenerator(seed: 4)
        let y = try lora.forward(g, g.input(x), training: true, generator: &dropoutGenerator)
        #expect(g.value(y).toArray() == (try Tensor.matmul(x, w, transposeB: true)).toArray())
    }

    @Test func forwardEqualsTheMergedWeight() throws {
        let w = random([4, 6], seed: 5)
        var generator = SeededGenerator(seed: 6)
        let lora = try LoRALinear(module: "m", base: try DenseFrozenLinear(weight: w), rank: 3, alpha: 6, generator: &generator)
        lora.b.value = random([4, 3], seed: 7)
        let merged = try w + lora.mergedDelta()
        let x = random([2, 6], seed: 8)
        let g = Graph(recording: false)
        let y = try lora.forward(g, g.input(x), training: false, generator: &generator)
        let expected = try Tensor.matmul(x, merged, transposeB: true).toArray()
        for (a, b) in zip(g.value(y).toArray(), expected) { #expect(abs(a - b) < 1e-4 * max(1, abs(b))) }
    }

    @Test(arguments: [Float(0), 0.25])
    func gradientsReachAAndBAndTheInputThroughTheFrozenWeight(dropout: Float) throws {
        let base = try CountingFrozenLinear(random([5, 4], seed: 9))
        var generator = SeededGenerator(seed: 10)
        let lora = try LoRALinear(module: "m", base: base, rank: 2, alpha: 3, dropout: dropout, generator: &generator)
        lora.b.value = random([5, 2], seed: 11)
        let x = Parameter(name: "x", value: random([3, 4], seed: 12))
        let results = try GradientCheck.run(parameters: [lora.a, lora.b, x]) { g in
            var dropoutGenerator = SeededGenerator(seed: 13)
            return try lora.forward(g, g.parameter(x), training: true, generator: &dropoutGenerator)
        }
        #expect(results.map(\.name) == [lora.a.name, lora.b.name, "x"])
        for r in results { #expect(r.relativeError < 1e-3 && r.maxElementError < 1e-3, "\(r)") }
        #expect(base.backwardCalls == 1)   // only the analytic pass goes backwards
        #expect(base.forwardCalls > 1)
    }

    @Test func rejectsBadRankAndAlpha() throws {
        let base = try DenseFrozenLinear(weight: Tensor(shape: [3, 4]))
        var generator = SeededGenerator(seed: 1)
        #expect(throws: AutogradError.self) { try LoRALinear(module: "m", base: base, rank: 4, alpha: 1, generator: &generator) }
        #expect(throws: AutogradError.self) { try LoRALinear(module: "m", base: base, rank: 1, alpha: 0, generator: &generator) }
        #expect(throws: TensorError.self) { try DenseFrozenLinear(weight: Tensor(shape: [3])) }
    }
}
