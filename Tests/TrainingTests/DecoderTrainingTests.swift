import Foundation
import Testing
@testable import Engine
@testable import Training

private let tinyConfig = DecoderConfig(vocabularySize: 11, hiddenSize: 8, layers: 2, heads: 2, kvHeads: 1, headDim: 4,
                                       intermediateSize: 12, ropeBase: 100)

/// Makes the model's weights large enough that every path carries a visible gradient
/// (the 0.02 initialisation leaves attention nearly uniform).
private func spreadWeights(_ model: DecoderModel, seed: UInt64) {
    var g = SeededGenerator(seed: seed)
    for p in model.parameters {
        let v = p.value.basePointer
        for i in 0..<p.value.count { v[i] = p.value.rank == 1 ? 1 + 0.3 * g.nextNormal() : 0.4 * g.nextNormal() }
    }
}

@Suite struct DecoderGradientTests {
    @Test func wholeTinyModelMatchesFiniteDifferences() throws {
        let model = try DecoderModel(config: tinyConfig, seed: 3)
        spreadWeights(model, seed: 4)
        let tokens = [1, 4, 2, 9, 3, 3, 7, 0, 5, 2]
        let targets = [4, 2, Graph.ignoreIndex, 3, 3, 7, 0, 5, 2, 10]
        // h = 3e-2: through two layers the Float32 forward is noisier than a single op, and the
        // error falls as h grows (rounding noise ∝ 1/h, the O(h⁴) truncation is still negligible).
        let results = try GradientCheck.run(parameters: model.parameters, step: 3e-2, maxElementsPerParameter: 10) { g in
            try model.loss(g, tokens: tokens, targets: targets, sequenceLength: 5)
        }
        #expect(results.count == model.parameters.count)
        for r in results {
            #expect(r.relativeError < 1e-3, "\(r)")
            #expect(r.maxElementError < 1e-3, "\(r)")
        }
    }

    @Test func slidingWindowSiluUntiedVariant() throws {
        var config = tinyConfig
        config.layers = 1
        config.activation = .silu
        config.tiedEmbeddings = false
        config.scalesEmbeddings = true
        config.slidingWindow = 2
        config.ropeStyle = .interleaved
        let model = try DecoderModel(config: config, seed: 5)
        spreadWeights(model, seed: 6)
        let results = try GradientCheck.run(parameters: model.parameters, step: 3e-2, maxElementsPerParameter: 8) { g in
            try model.loss(g, tokens: [1, 2, 3, 4, 5, 6], targets: [2, 3, 4, 5, 6, 7], sequenceLength: 6)
        }
        for r in results { #expect(r.relativeError < 1e-3 && r.maxElementError < 1e-3, "\(r)") }
    }

    @Test func accumulatingTwoHalfBatchesEqualsOneBatch() throws {
        let model = try DecoderModel(config: tinyConfig, seed: 7)
        let tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1]
        let targets = tokens.map { ($0 + 1) % 11 }
        // One batch of 4 sequences of 3.
        for p in model.parameters { p.zeroGrad() }
        let g = Graph()
        try g.backward(try model.loss(g, tokens: tokens, targets: targets, sequenceLength: 3))
        let whole = model.parameters.map { $0.grad?.toArray() ?? [] }
        // Two micro-batches of 2 sequences, each weighted 1/2, through GradientStep.
        let optimizer = try AdamW(parameters: model.parameters)
        let before = model.parameters.map { $0.value.toArray() }
        let stepper = try GradientStep(schedule: .constant(1e-9), maxGradNorm: nil, accumulationSteps: 2)
        _ = try stepper.run(step: 1, optimizer: optimizer) { index in
            let g = Graph()
            let range = (index * 6)..<(index * 6 + 6)
            let loss = try model.loss(g, tokens: Array(tokens[range]), targets: Array(targets[range]), sequenceLength: 3)
            return MicroBatchLoss(graph: g, loss: loss, tokens: 6)
        }
        let captured = model.parameters.map { $0.grad?.toArray() ?? [] }
        for (a, b) in zip(whole, captured) {
            for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-5 + 1e-4 * abs(x)) }
        }
        // The update itself used lr 1e-9: weights moved, but barely.
        let after = model.parameters.map { $0.value.toArray() }
        #expect(zip(before, after).contains { $0 != $1 })
    }
}

@Suite struct TinyTrainingTests {
    /// Trains on a repeated sequence and returns the loss of every step.
    private func train(steps: Int) throws -> [Double] {
        let model = try DecoderModel(config: tinyConfig, seed: 11)
        let optimizer = try AdamW(parameters: model.parameters, settings: AdamWSettings(weightDecay: 0.01))
        let stepper = try GradientStep(schedule: .warmupCosine(peak: 3e-2, warmupSteps: 5, totalSteps: steps, minimum: 3e-3),
                                       maxGradNorm: 1, accumulationSteps: 2)
        let pattern = [1, 5, 2, 8, 3, 9, 4, 7]
        let sequence = Array((0..<3).flatMap { _ in pattern }.prefix(17))
        let tokens = Array(sequence.dropLast()), targets = Array(sequence.dropFirst())
        var losses: [Double] = []
        for step in 1...steps {
            let result = try stepper.run(step: step, optimizer: optimizer) { _ in
                let g = Graph()
                return MicroBatchLoss(graph: g, loss: try model.loss(g, tokens: tokens, targets: targets, sequenceLength: 8),
                                      tokens: tokens.count)
            }
            losses.append(result.loss)
        }
        return losses
    }

    @Test func lossFallsOnARepeatedSequenceDeterministically() throws {
        let losses = try train(steps: 60)
        let first = losses[0], last = losses[losses.count - 1]
        #expect(abs(first - log(11.0)) < 0.1, "an untrained model is near-uniform: \(first)")
        #expect(last < 0.25 * first, "loss \(first) → \(last)")
        let again = try train(steps: 60)
        #expect(again == losses)
    }
}

