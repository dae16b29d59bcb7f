import Engine
import Foundation

/// Scores prompt/response pairs: the reward RLHF maximises.
public protocol RewardFunction: AnyObject {
    func rewards(for items: [PromptResponse]) throws -> [Double]
}

/// A reward model: the language model's final hidden state at the last token of prompt + response,
/// through a scalar head `score.weight` `[1, hidden]` (Hugging Face's sequence-classification name).
/// The backbone trains with it (its LoRA adapter, or all its weights).
public final class ScalarRewardModel: RewardFunction {
    public let backbone: any AlignmentModel
    public let head: Parameter
    public static let headName = "score.weight"

    /// The head starts as N(0, (1/√hidden)²) from `seed`, so initial scores are of order one.
    public init(backbone: any AlignmentModel, seed: UInt64) {
        self.backbone = backbone
        var generator = SeededGenerator(seed: seed)
        let values = Tensor(shape: [1, backbone.hiddenSize])
        let scale = 1 / Float(backbone.hiddenSize).squareRoot()
        for i in 0..<values.count { values.basePointer[i] = generator.nextNormal() * scale }
        head = Parameter(name: Self.headName, value: values)
    }

    public var trainableParameters: [Parameter] { backbone.trainableParameters + [head] }

    /// Rewards `[items, 1]` of a batch, on `g`.
    public func rewards(_ g: Graph, batch: ResponseBatch) throws -> Value {
        let hidden = try backbone.hiddenStates(g, tokens: batch.tokens, sequenceLength: batch.sequenceLength, reference: false)
        let last = try g.embedding(hidden, ids: batch.lastRows)
        return try g.matmul(last, g.parameter(head), transposeW: true)
    }

    public func rewards(for items: [PromptResponse]) throws -> [Double] {
        guard !items.isEmpty else { return [] }
        let g = Graph(recording: false)
        return g.value(try rewards(g, batch: ResponseBatch(items))).toArray().map(Double.init)
    }

    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try AlignmentWeights.save(trainableParameters, to: url, metadata: metadata)
    }

    public func load(from url: URL) throws {
        try AlignmentWeights.load(trainableParameters, from: url)
    }
}

public struct RewardModelSettings: Sendable, Equatable, Codable {
    public var pairsPerStep: Int
    public var optimization: AlignmentOptimization
    /// Held-out accuracy every N steps (and at the last step); 0 = only at the last step.
    public var evaluateEvery: Int
    public var totalSteps: Int
    public var seed: UInt64

    public init(pairsPerStep: Int = 4, optimization: AlignmentOptimization, evaluateEvery: Int = 0, totalSteps: Int,
                seed: UInt64 = 42) {
        self.pairsPerStep = pairsPerStep
        self.optimization = optimization
        self.evaluateEvery = evaluateEvery
        self.totalSteps = totalSteps
        self.seed = seed
    }
}

/// Trains a `ScalarRewardModel` with the Bradley–Terry loss −log σ(r_chosen − r_rejected).
/// Each step logs loss, accuracy, margin and the mean chosen / rejected rewards; held-out steps add
/// eval/loss and eval/accuracy.
public final class RewardModelTask: TrainableTask {
    public let rewardModel: ScalarRewardModel
    public let train: [EncodedPreference]
    public let validation: [EncodedPreference]
    public let settings: RewardModelSettings
    let optimizer: AdamW
    private let order: EpochOrder

    public init(rewardModel: ScalarRewardModel, train: [EncodedPreference], validation: [EncodedPreference] = [],
                settings: RewardModelSettings) throws {
        guard !train.isEmpty else { throw RunError.invalidConfiguration("the reward model needs at least one training pair") }
        guard settings.pairsPerStep >= 1 else { throw RunError.invalidConfiguration("pairs per step must be at least 1") }
        self.rewardModel = rewardModel
        self.train = train
        self.validation = validation
        self.settings = settings
        optimizer = try settings.optimization.makeOptimizer(rewardModel.trainableParameters)
        order = EpochOrder(count: train.count, seed: settings.seed)
    }

    public func trainStep(_ step: Int) throws -> StepResult {
        optimizer.zeroGrad()
        let indices = order.indices(step: step, batchSize: settings.pairsPerStep)
        let n = Double(indices.count)
        var chosen: [Double] = [], rejected: [Double] = []
        var tokens = 0
        for index in indices {
            let example = train[index]
            let g = Graph()
            let batch = try ResponseBatch([example.chosen, example.rejected])
            let scores = try rewardModel.rewards(g, batch: batch)
            let values = g.value(scores).toArray().map(Double.init)
            let one = BradleyTerryLoss.compute(chosen: [values[0]], rejected: [values[1]])
            try g.backward(scores, seed: try Tensor(shape: [2, 1], values: [Float(one.gradChosen[0] / n), Float(one.gradRejected[0] / n)]))
            chosen.append(values[0])
            rejected.append(values[1])
            tokens += batch.tokens.count
        }
        let result = BradleyTerryLoss.compute(chosen: chosen, rejected: rejected)
        let (rate, norm) = settings.optimization.apply(step: step, loss: result.loss, optimizer: optimizer)
        var extra = ["accuracy": result.accuracy, "margin": result.meanMargin,
                     "rewards/chosen": chosen.reduce(0, +) / n, "rewards/rejected": rejected.reduce(0, +) / n]
        let evaluateNow = step == settings.totalSteps || (settings.evaluateEvery > 0 && step % settings.evaluateEvery == 0)
        if evaluateNow, !validation.isEmpty {
            let held = try evaluate(validation)
            extra["eval/loss"] = held.loss
            extra["eval/accuracy"] = held.accuracy
        }
        return StepResult(loss: result.loss, learningRate: rate, gradNorm: norm, tokens: tokens, extra: extra)
    }

    /// Bradley–Terry loss, accuracy and margin on `pairs` (no gradients).
    public func evaluate(_ pairs: [EncodedPreference]) throws -> BradleyTerryLoss.Result {
        var chosen: [Double] = [], rejected: [Double] = []
        for pair in pairs {
            let r = try rewardModel.rewards(for: [pair.chosen, pair.rejected])
            chosen.append(r[0])
            rejected.append(r[1])
        }
        return BradleyTerryLoss.compute(chosen: chosen, rejected: rejected)
    }

    public func validationLoss() throws -> Double? {
        validation.isEmpty ? nil : try evaluate(validation).loss
    }

    public static let weightsFile = "reward_model.safetensors"

    public func saveCheckpoint(to folder: URL) throws {
        try rewardModel.save(to: folder.appendingPathComponent(Self.weightsFile))
        try optimizer.saveState(to: folder.appendingPathComponent(DPOTask.optimizerFile))
    }

    public func loadCheckpoint(from folder: URL) throws {
        try rewardModel.load(from: folder.appendingPathComponent(Self.weightsFile))
        try optimizer.loadState(from: folder.appendingPathComponent(DPOTask.optimizerFile))
    }
}
