import Engine
import Foundation

/// Settings shared by the alignment runs' optimizer step.
public struct AlignmentOptimization: Sendable, Equatable, Codable {
    public var schedule: LearningRateSchedule
    /// Clip the global gradient norm to this value; nil = no clipping.
    public var maxGradNorm: Double?
    public var adamW: AdamWSettings

    public init(schedule: LearningRateSchedule, maxGradNorm: Double? = 1.0,
                adamW: AdamWSettings = AdamWSettings(weightDecay: 0)) {
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.adamW = adamW
    }

    func makeOptimizer(_ parameters: [Parameter]) throws -> AdamW {
        try schedule.validate()
        if let maxGradNorm, !(maxGradNorm > 0) {
            throw OptimizerError.invalidSettings("max gradient norm must be positive, got \(maxGradNorm)")
        }
        guard !parameters.isEmpty else { throw RunError.invalidConfiguration("the model has no trainable parameters") }
        return try AdamW(parameters: parameters, settings: adamW)
    }

    /// Clips and applies the accumulated gradients; returns (rate, norm before clipping). A
    /// non-finite loss or norm skips the update (the runner then fails the run with the weights intact).
    func apply(step: Int, loss: Double, optimizer: AdamW) -> (rate: Double, norm: Double) {
        let rate = schedule.rate(atStep: step)
        let norm = maxGradNorm.map { GradientClipping.clipGlobalNorm(optimizer.parameters, maxNorm: $0) }
            ?? GradientClipping.globalNorm(optimizer.parameters)
        if loss.isFinite && norm.isFinite { optimizer.step(learningRate: rate) }
        return (rate, norm)
    }
}

public struct DPOSettings: Sendable, Equatable, Codable {
    /// Strength of the implicit KL constraint (TRL's default 0.1).
    public var beta: Double
    public var variant: DPOLoss.Variant
    /// Preference pairs per optimizer step (gradients of the pairs are averaged).
    public var pairsPerStep: Int
    public var optimization: AlignmentOptimization
    /// Data order seed.
    public var seed: UInt64

    public init(beta: Double = 0.1, variant: DPOLoss.Variant = .sigmoid, pairsPerStep: Int = 4,
                optimization: AlignmentOptimization, seed: UInt64 = 42) {
        self.beta = beta
        self.variant = variant
        self.pairsPerStep = pairsPerStep
        self.optimization = optimization
        self.seed = seed
    }
}

/// Direct Preference Optimisation as a `TrainableTask`: each step takes `pairsPerStep` pairs, runs
/// the policy on chosen and rejected together, combines their sequence log-probs with the cached
/// reference log-probs in `DPOLoss`, and back-propagates ∂loss/∂log p into the policy.
/// Each step's figures are TRL's: loss, rewards/chosen|rejected|margins|accuracies, logps/chosen|rejected.
public final class DPOTask: TrainableTask {
    public let model: any AlignmentModel
    public let train: [EncodedPreference]
    public let validation: [EncodedPreference]
    public let settings: DPOSettings
    let optimizer: AdamW
    private let order: EpochOrder
    /// Reference log-probs per pair (chosen, rejected); the reference never changes, so each pair's
    /// reference pass runs once per run.
    private var referenceCache: [Int: (Double, Double)] = [:]
    private var validationReference: [Int: (Double, Double)] = [:]

    public init(model: any AlignmentModel, train: [EncodedPreference], validation: [EncodedPreference] = [],
                settings: DPOSettings) throws {
        guard !train.isEmpty else { throw RunError.invalidConfiguration("DPO needs at least one training pair") }
        guard settings.beta > 0, settings.beta.isFinite else {
            throw RunError.invalidConfiguration("beta must be positive, got \(settings.beta)")
        }
        guard settings.pairsPerStep >= 1 else { throw RunError.invalidConfiguration("pairs per step must be at least 1") }
        self.model = model
        self.train = train
        self.validation = validation
        self.settings = settings
        optimizer = try settings.optimization.makeOptimizer(model.trainableParameters)
        order = EpochOrder(count: train.count, seed: settings.seed)
    }

    private func reference(_ pair: EncodedPreference) throws -> (Double, Double) {
        let sums = try model.responseLogProbs([pair.chosen, pair.rejected], reference: true).map { $0.reduce(0, +) }
        return (sums[0], sums[1])
    }

    private func referenceTrain(_ index: Int) throws -> (Double, Double) {
        if let cached = referenceCache[index] { return cached }
        let r = try reference(train[index])
        referenceCache[index] = r
        return r
    }

    public func trainStep(_ step: Int) throws -> StepResult {
        optimizer.zeroGrad()
        let (result, tokens) = try accumulateGradients(indices: order.indices(step: step, batchSize: settings.pairsPerStep))
        let (rate, norm) = settings.optimization.apply(step: step, loss: result.loss, optimizer: optimizer)
        return StepResult(loss: result.loss, learningRate: rate, gradNorm: norm, tokens: tokens, extra: result.metrics)
    }

    /// Adds the gradient of the mean DPO loss over the training pairs `indices` into the trainable
    /// parameters and returns the loss and figures (before any update).
    func accumulateGradients(indices: [Int]) throws -> (DPOLoss.Result, tokens: Int) {
        let n = Double(indices.count)
        var pairs: [DPOLoss.Pair] = []
        var tokens = 0
        for index in indices {
            let example = train[index]
            let (refChosen, refRejected) = try referenceTrain(index)
            let g = Graph()
            let batch = try ResponseBatch([example.chosen, example.rejected])
            let logProbs = try ResponseLogProbs.compute(model, g, batch: batch, reference: false)
            let sums = logProbs.sums
            let pair = DPOLoss.Pair(policyChosen: sums[0], policyRejected: sums[1],
                                    referenceChosen: refChosen, referenceRejected: refRejected)
            let one = DPOLoss.compute([pair], beta: settings.beta, variant: settings.variant)
            try g.backward(logProbs.node, seed: logProbs.seed(sequenceGradients: [one.gradChosen[0] / n, one.gradRejected[0] / n]))
            pairs.append(pair)
            tokens += batch.responseTokenCount
        }
        return (DPOLoss.compute(pairs, beta: settings.beta, variant: settings.variant), tokens)
    }

    /// DPO loss and TRL's figures on `pairs` under the current policy (no gradients).
    public func evaluate(_ pairs: [EncodedPreference]) throws -> DPOLoss.Result {
        var items: [DPOLoss.Pair] = []
        for pair in pairs {
            let sums = try model.responseLogProbs([pair.chosen, pair.rejected], reference: false).map { $0.reduce(0, +) }
            let ref = try reference(pair)
            items.append(DPOLoss.Pair(policyChosen: sums[0], policyRejected: sums[1], referenceChosen: ref.0, referenceRejected: ref.1))
        }
        return DPOLoss.compute(items, beta: settings.beta, variant: settings.variant)
    }

    public func validationLoss() throws -> Double? {
        guard !validation.isEmpty else { return nil }
        var items: [DPOLoss.Pair] = []
        for (i, pair) in validation.enumerated() {
            let ref: (Double, Double)
            if let cached = validationReference[i] { ref = cached } else {
                ref = try reference(pair)
                validationReference[i] = ref
            }
            let sums = try model.responseLogProbs([pair.chosen, pair.rejected], reference: false).map { $0.reduce(0, +) }
            items.append(DPOLoss.Pair(policyChosen: sums[0], policyRejected: sums[1], referenceChosen: ref.0, referenceRejected: ref.1))
        }
        return DPOLoss.compute(items, beta: settings.beta, variant: settings.variant).loss
    }

    public static let weightsFile = "trainable.safetensors"
    public static let optimizerFile = "optimizer.safetensors"

    public func saveCheckpoint(to folder: URL) throws {
        try model.saveTrainable(to: folder.appendingPathComponent(Self.weightsFile))
        try optimizer.saveState(to: folder.appendingPathComponent(Self.optimizerFile))
    }

    public func loadCheckpoint(from folder: URL) throws {
        try model.loadTrainable(from: folder.appendingPathComponent(Self.weightsFile))
        try optimizer.loadState(from: folder.appendingPathComponent(Self.optimizerFile))
    }
}
