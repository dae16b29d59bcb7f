import Foundation
import Testing
@testable import Engine
@testable import Training

private func parameter(_ name: String, _ values: [Float], shape: [Int]? = nil) throws -> Parameter {
    Parameter(name: name, value: try Tensor(shape: shape ?? [values.count], values: values))
}

/// Sets p.grad to `values` (through a graph: d(sum(p ⊙ c))/dp = c).
private func setGradient(_ p: Parameter, _ values: [Float]) throws {
    p.zeroGrad()
    let g = Graph()
    let c = g.input(try Tensor(shape: p.shape, values: values))
    try g.backward(g.sum(try g.mul(g.parameter(p), c)))
}

@Suite struct AdamWTests {
    /// Float64 re-implementation of PyTorch's AdamW step, independent of the code under test.
    private func referenceAdamW(_ w0: [Double], grads: [[Double]], lr: Double, b1: Double, b2: Double, eps: Double,
                                decay: Double) -> [Double] {
        var w = w0, m = [Double](repeating: 0, count: w0.count), v = m
        for (t, g) in grads.enumerated() {
            let step = Double(t + 1)
            for i in w.indices {
                w[i] *= 1 - lr * decay
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let mhat = m[i] / (1 - pow(b1, step)), vhat = v[i] / (1 - pow(b2, step))
                w[i] -= lr * mhat / (vhat.squareRoot() + eps)
            }
        }
        return w
    }

    @Test func matchesFloat64ReferenceWithDecayAndBiasCorrection() throws {
        let w0: [Float] = [0.5, -1.25, 2, 0.1, -0.3, 0.75]
        let p = try parameter("w", w0, shape: [2, 3])
        let settings = AdamWSettings(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        let optimizer = try AdamW(parameters: [p], settings: settings)
        let grads: [[Float]] = [[0.1, -0.2, 0.3, 0, 1, -1], [0.05, 0.2, -0.1, 0.4, 0.5, -2], [1, 1, 1, -1, -1, -1]]
        for g in grads {
            try setGradient(p, g)
            optimizer.step(learningRate: 0.01)
        }
        let expected = referenceAdamW(w0.map(Double.init), grads: grads.map { $0.map(Double.init) }, lr: 0.01,
                                      b1: 0.9, b2: 0.99, eps: 1e-8, decay: 0.1)
        for (a, b) in zip(p.value.toArray(), expected) { #expect(abs(Double(a) - b) < 1e-6, "\(a) vs \(b)") }
        #expect(optimizer.stepCount == 3)
    }

    @Test func vectorsAreNotDecayedAndFrozenOrGradlessParametersStay() throws {
        let bias = try parameter("bias", [1, 1])
        let frozen = Parameter(name: "frozen", value: Tensor.filled([2, 2], with: 3), trainable: false)
        let untouched = try parameter("untouched", [4, 4, 4, 4], shape: [2, 2])
        let optimizer = try AdamW(parameters: [bias, frozen, untouched], settings: AdamWSettings(weightDecay: 0.5))
        try setGradient(bias, [0, 0])
        optimizer.step(learningRate: 0.1)
        #expect(bias.value.toArray() == [1, 1])           // zero gradient, no decay on a vector
        #expect(frozen.value.toArray() == [3, 3, 3, 3])
        #expect(untouched.value.toArray() == [4, 4, 4, 4]) // never had a gradient
        #expect(optimizer.parameters.map(\.name) == ["bias", "untouched"])
    }

    @Test func stateRoundTripContinuesExactly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("adamw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let grads: [[Float]] = [[0.3, -0.1, 0.2, 0.9], [-0.4, 0.2, 0.1, 0.1], [0.5, 0.5, -0.5, 0.05], [0.2, -0.3, 0.1, 0.6]]
        let straight = try parameter("w", [1, 2, 3, 4], shape: [2, 2])
        let straightOpt = try AdamW(parameters: [straight])
        for g in grads { try setGradient(straight, g); straightOpt.step(learningRate: 0.05) }

        let first = try parameter("w", [1, 2, 3, 4], shape: [2, 2])
        let firstOpt = try AdamW(parameters: [first])
        for g in grads.prefix(2) { try setGradient(first, g); firstOpt.step(learningRate: 0.05) }
        let stateURL = folder.appendingPathComponent("optimizer.safetensors")
        try firstOpt.saveState(to: stateURL)
        let resumed = Parameter(name: "w", value: first.value.copy())
        let resumedOpt = try AdamW(parameters: [resumed])
        try resumedOpt.loadState(from: stateURL)
        #expect(resumedOpt.stepCount == 2)
        for g in grads.suffix(2) { try setGradient(resumed, g); resumedOpt.step(learningRate: 0.05) }
        #expect(resumed.value.toArray() == straight.value.toArray())
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(leftovers == ["optimizer.safetensors"])

        let other = try AdamW(parameters: [try parameter("w", [1, 2, 3])])
        #expect(throws: OptimizerError.self) { try other.loadState(from: stateURL) }
        let renamed = try AdamW(parameters: [try parameter("v", [1, 2, 3, 4], shape: [2, 2])])
        #expect(throws: (any Error).self) { try renamed.loadState(from: stateURL) }
    }

    @Test func rejectsBadSettings() {
        #expect(throws: OptimizerError.self) { try AdamW(parameters: [], settings: AdamWSettings(beta1: 1)) }
        #expect(throws: OptimizerError.self) { try GradientStep(schedule: .constant(0)) }
        #expect(throws: OptimizerError.self) { try GradientStep(schedule: .constant(1e-3), accumulationSteps: 0) }
    }
}

@Suite struct ScheduleAndClippingTests {
    @Test func constantAndWarmupCosine() {
        #expect(LearningRateSchedule.constant(3e-4).rate(atStep: 17) == 3e-4)
        let s = LearningRateSchedule.warmupCosine(peak: 1, warmupSteps: 4, totalSteps: 14, minimum: 0.1)
        #expect(s.rate(atStep: 1) == 0.25)
        #expect(s.rate(atStep: 4) == 1)
        #expect(abs(s.rate(atStep: 9) - (0.1 + 0.9 * 0.5)) < 1e-12)   // halfway through the decay
        #expect(abs(s.rate(atStep: 14) - 0.1) < 1e-12)
        #expect(abs(s.rate(atStep: 40) - 0.1) < 1e-12)
        let rates = (4...14).map { s.rate(atStep: $0) }
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 })
    }

    @Test func clipsByGlobalNorm() throws {
        let a = try parameter("a", [0, 0]), b = try parameter("b", [0])
        try setGradient(a, [3, 0])
        try setGradient(b, [4])
        let norm = GradientClipping.clipGlobalNorm([a, b], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-9)
        let after = (try #require(a.grad).toArray() + (try #require(b.grad).toArray())).map(Double.init)
        #expect(abs(after[0] - 0.6) < 1e-5 && abs(after[2] - 0.8) < 1e-5)
        // Below the limit nothing changes.
        let small = GradientClipping.clipGlobalNorm([a, b], maxNorm: 10)
        #expect(abs(small - 1) < 1e-5)
        #expect(abs(Double(try #require(b.grad).toArray()[0]) - 0.8) < 1e-5)
    }
}

@Suite struct SafetensorsWriterTests {
    @Test func layoutAndRoundTrip() throws {
        var writer = SafetensorsWriter()
        writer.add("b", try Tensor(shape: [2], values: [1.5, -2]))
        writer.add("a", try Tensor(shape: [1, 2], values: [0.25, 8]), as: .bf16)
        writer.metadata = ["format": "pt"]
        let data = try writer.encoded()
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        #expect(headerLength % 8 == 0)
        #expect(data.count == 8 + headerLength + 4 + 8)
        let header = String(decoding: data[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.contains("\"a\":{\"data_offsets\":[0,4],\"dtype\":\"BF16\",\"shape\":[1,2]}"))
        #expect(header.contains("\"b\":{\"data_offsets\":[4,12],\"dtype\":\"F32\",\"shape\":[2]}"))

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url)
        try writer.write(to: url) // replacing an existing file
        let file = try SafetensorsFile(path: url.path)
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.tensor("b").toArray() == [1.5, -2])
        #expect(try file.tensor("a").toArray() == [0.25, 8])
        #expect(throws: SafetensorsError.self) { try file.tensor("c") }
    }

    @Test func truncatedFileIsAnError() throws {
        var writer = SafetensorsWriter()
        writer.add("x", Tensor.filled([16], with: 1))
        let data = try writer.encoded()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try data.prefix(data.count - 10).write(to: url)
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: url.path) }
    }
}
