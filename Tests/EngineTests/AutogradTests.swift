import Foundation
import Testing
@testable import Engine

/// Gradient checks for every autograd operation: analytic gradients against fourth-order central
/// finite differences (`GradientCheck`), tolerance 1e-3 relative (norm-wise and per element, relative
/// to the largest gradient entry). Shapes are tiny so the checks run fast in debug builds.
private func randomParameter(_ name: String, _ shape: [Int], seed: UInt64, scale: Float = 1,
                             trainable: Bool = true) -> Parameter {
    var g = SeededGenerator(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t.basePointer[i] = g.nextNormal() * scale }
    return Parameter(name: name, value: t, trainable: trainable)
}

private func expectGradientsMatch(_ parameters: [Parameter], tolerance: Double = 1e-3,
                                  maxElements: Int? = nil,
                                  sourceLocation: SourceLocation = #_sourceLocation,
                                  _ build: (Graph) throws -> Value) throws {
    let results = try GradientCheck.run(parameters: parameters, maxElementsPerParameter: maxElements, build: build)
    #expect(results.count == parameters.filter(\.isTrainable).count, sourceLocation: sourceLocation)
    for r in results {
        #expect(r.checkedElements > 0, sourceLocation: sourceLocation)
        #expect(r.relativeError < tolerance, "\(r)", sourceLocation: sourceLocation)
        #expect(r.maxElementError < tolerance, "\(r)", sourceLocation: sourceLocation)
    }
}

@Suite struct AutogradOpGradientTests {
    @Test func matmulPlainAndTransposedWeight() throws {
        let x = randomParameter("x", [2, 3, 4], seed: 1)
        let w = randomParameter("w", [4, 5], seed: 2)
        try expectGradientsMatch([x, w]) { g in try g.matmul(g.parameter(x), g.parameter(w)) }
        let wt = randomParameter("wT", [5, 4], seed: 3)
        try expectGradientsMatch([x, wt]) { g in try g.matmul(g.parameter(x), g.parameter(wt), transposeW: true) }
    }

    @Test func addMulAndScaleWithBroadcast() throws {
        let a = randomParameter("a", [3, 4], seed: 4)
        let b = randomParameter("b", [3, 4], seed: 5)
        let bias = randomParameter("bias", [4], seed: 6)
        try expectGradientsMatch([a, b]) { g in try g.add(g.parameter(a), g.parameter(b)) }
        try expectGradientsMatch([a, bias]) { g in try g.add(g.parameter(a), g.parameter(bias)) }
        try expectGradientsMatch([a, b]) { g in try g.mul(g.parameter(a), g.parameter(b)) }
        try expectGradientsMatch([a, bias]) { g in try g.mul(g.parameter(a), g.parameter(bias)) }
        try expectGradientsMatch([a]) { g in g.scale(g.parameter(a), by: -1.75) }
        try expectGradientsMatch([a]) { g in g.sum(g.parameter(a)) }
        try expectGradientsMatch([a]) { g in g.mean(g.parameter(a)) }
    }

    @Test func embeddingScatterAddsRepeatedIds() throws {
        let table = randomParameter("table", [6, 3], seed: 7)
        try expectGradientsMatch([table]) { g in try g.embedding(g.parameter(table), ids: [2, 0, 2, 5]) }
        table.zeroGrad()
        let g = Graph()
        let out = try g.embedding(g.parameter(table), ids: [2, 2])
        try g.backward(out)
        #expect(table.grad?.toArray() == [0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func rmsnormWithWeightOffsetAndWithout() throws {
        let x = randomParameter("x", [3, 6], seed: 8)
        let w = randomParameter("w", [6], seed: 9, scale: 0.5)
        try expectGradientsMatch([x, w]) { g in try g.rmsnorm(g.parameter(x), weight: g.parameter(w), eps: 1e-6) }
        try expectGradientsMatch([x, w]) { g in
            try g.rmsnorm(g.parameter(x), weight: g.parameter(w), eps: 1e-6, weightOffset: 1)
        }
        try expectGradientsMatch([x]) { g in try g.rmsnorm(g.parameter(x), weight: nil, eps: 1e-5) }
    }

    @Test func layernormWithWeightAndBias() throws {
        let x = randomParameter("x", [3, 5], seed: 10)
        let w = randomParameter("w", [5], seed: 11)
        let b = randomParameter("b", [5], seed: 12)
        try expectGradientsMatch([x, w, b]) { g in
            try g.layernorm(g.parameter(x), weight: g.parameter(w), bias: g.parameter(b), eps: 1e-5)
        }
        try expectGradientsMatch([x]) { g in try g.layernorm(g.parameter(x), weight: nil, bias: nil, eps: 1e-5) }
    }

    @Test(arguments: [RopeStyle.neox, .interleaved])
    func ropeBothLayoutsAndPartialRotary(style: RopeStyle) throws {
        let x = randomParameter("x", [3, 2 * 8], seed: 13)
        try expectGradientsMatch([x]) { g in
            try g.rope(g.parameter(x), heads: 2, headDim: 8, positions: [0, 3, 7], base: 10_000, style: style)
        }
        try expectGradientsMatch([x]) { g in
            try g.rope(g.parameter(x), heads: 2, headDim: 8, positions: [1, 2, 5], base: 100, style: style,
                       rotaryDim: 4, frequencyScale: 2)
        }
    }

    @Test(arguments: [AttentionMask.causal, .slidingWindow(2), .none])
    func attentionWithMasksAndGroupedHeads(mask: AttentionMask) throws {
        let t = 4, heads = 4, kvHeads = 2, d = 3, batch = 2
        let q = randomParameter("q", [batch * t, heads * d], seed: 14)
        let k = randomParameter("k", [batch * t, kvHeads * d], seed: 15)
        let v = randomParameter("v", [batch * t, kvHeads * d], seed: 16)
        try expectGradientsMatch([q, k, v]) { g in
            try g.attention(q: g.parameter(q), k: g.parameter(k), v: g.parameter(v), heads: heads, kvHeads: kvHeads,
                            headDim: d, sequenceLength: t, scale: 0.5, mask: mask)
        }
    }

    @Test func softmaxAndActivations() throws {
        let x = randomParameter("x", [3, 5], seed: 17)
        let y = randomParameter("y", [3, 5], seed: 18)
        try expectGradientsMatch([x]) { g in g.softmax(g.parameter(x)) }
        try expectGradientsMatch([x]) { g in g.geluTanh(g.parameter(x)) }
        try expectGradientsMatch([x]) { g in g.silu(g.parameter(x)) }
        for kind in [GateActivation.geluTanh, .silu] {
            try expectGradientsMatch([x, y]) { g in try g.gated(g.parameter(x), g.parameter(y), activation: kind) }
        }
    }

    @Test func reshapeTransposeSliceConcat() throws {
        let x = randomParameter("x", [2, 3, 4], seed: 19)
        let y = randomParameter("y", [2, 2, 4], seed: 20)
        try expectGradientsMatch([x]) { g in try g.reshape(g.parameter(x), [6, 4]) }
        try expectGradientsMatch([x]) { g in try g.transpose(g.parameter(x), 0, 2) }
        try expectGradientsMatch([x]) { g in try g.slice(g.parameter(x), dim: 1, 1..<3) }
        try expectGradientsMatch([x, y]) { g in try g.concat([g.parameter(x), g.parameter(y)], dim: 1) }
    }

    @Test func crossEntropyWithIgnoredTargets() throws {
        let logits = randomParameter("logits", [5, 7], seed: 21, scale: 2)
        let targets = [3, Graph.ignoreIndex, 0, 6, Graph.ignoreIndex]
        try expectGradientsMatch([logits]) { g in try g.crossEntropy(logits: g.parameter(logits), targets: targets) }
        try expectGradientsMatch([logits]) { g in
            try g.crossEntropy(logits: g.parameter(logits), targets: targets, reduction: .sum)
        }
        // Ignored rows get no gradient at all.
        let g = Graph()
        try g.backward(try g.crossEntropy(logits: g.parameter(logits), targets: targets))
        let grad = try #require(logits.grad)
        #expect(grad.row(1).toArray().allSatisfy { $0 == 0 })
        #expect(grad.row(4).toArray().allSatisfy { $0 == 0 })
    }

    @Test func crossEntropyMatchesFloat64Reference() throws {
        let values: [Float] = [0.5, -1, 2, 0, 3, 1]
        let logits = try Tensor(shape: [2, 3], values: values)
        let g = Graph(recording: false)
        let loss = try g.crossEntropy(logits: g.input(logits), targets: [2, 0])
        func lse(_ r: ArraySlice<Float>) -> Double { log(r.map { exp(Double($0)) }.reduce(0, +)) }
        let expected = ((lse(values[0..<3]) - 2) + (lse(values[3..<6]) - 0)) / 2
        #expect(abs(Double(g.value(loss).toArray()[0]) - expected) < 1e-6)
    }

    @Test func dropoutWithSeededMask() throws {
        let x = randomParameter("x", [4, 6], seed: 22)
        try expectGradientsMatch([x]) { g in
            var generator = SeededGenerator(seed: 99)
            return try g.dropout(g.parameter(x), probability: 0.3, generator: &generator)
        }
        #expect(throws: AutogradError.self) {
            var generator = SeededGenerator(seed: 1)
            let g = Graph()
            _ = try g.dropout(g.parameter(x), probability: 1, generator: &generator)
        }
    }
}

@Suite struct AutogradGraphTests {
    @Test func frozenParametersGetNoGradientAndTrainableOnesAccumulate() throws {
        let w = randomParameter("w", [3, 3], seed: 30, trainable: false)
        let x = randomParameter("x", [2, 3], seed: 31)
        for _ in 0..<2 {
            let g = Graph()
            try g.backward(g.sum(try g.matmul(g.parameter(x), g.parameter(w))))
        }
        #expect(w.grad == nil)
        // d sum(x·W)/dx[i, j] = Σ_k W[j, k]; two passes accumulate twice that.
        let expected = (0..<2).flatMap { _ in (0..<3).map { j in 2 * (0..<3).map { w.value[j, $0] }.reduce(0, +) } }
        let got = try #require(x.grad).toArray()
        for (a, b) in zip(got, expected) { #expect(abs(a - b) < 1e-5) }
        x.zeroGrad()
        #expect(try #require(x.grad).toArray().allSatisfy { $0 == 0 })
    }

    @Test func parameterUsedTwiceSumsBothPaths() throws {
        let w = randomParameter("w", [4, 3], seed: 32)
        try expectGradientsMatch([w]) { g in
            let h = try g.embedding(g.parameter(w), ids: [1, 3])
            return try g.matmul(h, g.parameter(w), transposeW: true)
        }
    }

    @Test func backwardRejectsGraphsThatDoNotRecord() throws {
        let g = Graph(recording: false)
        let x = g.input(Tensor.filled([2], with: 1), requiresGrad: true)
        #expect(throws: AutogradError.notRecording) { try g.backward(g.sum(x)) }
    }

    @Test func shapeErrorsAreThrownNotTrapped() throws {
        let g = Graph()
        let a = g.input(Tensor(shape: [2, 3]))
        let b = g.input(Tensor(shape: [4, 2]))
        #expect(throws: TensorError.self) { try g.matmul(a, b) }
        #expect(throws: TensorError.self) { try g.crossEntropy(logits: a, targets: [0, 3]) }
        #expect(throws: TensorError.self) { try g.concat([a, b], dim: 0) }
        #expect(throws: AutogradError.self) {
            try g.attention(q: a, k: a, v: a, heads: 3, kvHeads: 2, headDim: 1, sequenceLength: 2, scale: 1, mask: .causal)
        }
    }
}
