import Engine
import Foundation

public struct GRPOSettings: Sendable, Equatable, Codable {
    /// Responses sampled per prompt (the group whose rewards set each other's baseline).
    public var groupSize: Int
    public var promptsPerStep: Int
    public var maxResponseTokens: Int
    /// Sampling temperature (1 samples the policy itself, which the policy gradient assumes).
    public var temperature: Float
    /// Weight of the per-token KL penalty to the reference (TRL's GRPO `beta`).
    public var beta: Double
    public var optimization: AlignmentOptimization
    /// Seeds the prompt order and every sample.
    public var seed: UInt64

    public init(groupSize: Int = 4, promptsPerStep: Int = 1, maxResponseTokens: Int = 32, temperature: Float = 1,
                beta: Double = 0.04, optimization: AlignmentOptimization, seed: UInt64 = 42) {
        self.groupSize = groupSize
        self.promptsPerStep = promptsPerStep
        self.maxResponseTokens = maxResponseTokens
        self.temperature = temperature
        self.beta = beta
        self.optimization = optimization
        self.seed = seed
    }
}

/// RLHF with Group Relative Policy Optimisation (Shao et al. 2024): for each prompt, sample a group
/// of responses from the current policy through the generation session, score them with the reward
/// function, use each reward's z-score within its group as the advantage (no value model), and
/// minimise, per response o with |o| tokens,
///   (1/|o|) Σₜ [ −A · π(oₜ)/π_old(oₜ) + β · k3(π, π_ref)ₜ ],
/// averaged over the responses. One update per batch of samples (π_old = π), so the ratio is 1 and
/// its gradient is ∇log π. Logs TRL's names: reward, reward_std, kl, completions/mean_length, loss.
public final class GRPOTask: TrainableTask {
    public let model: any AlignmentModel
    public let prompts: [[Int]]
    public let reward: any RewardFunction
    public let settings: GRPOSettings
    let optimizer: AdamW
    private let order: EpochOrder
    private let tokenizer: any TextTokenizer
    /// The responses of the latest step (for inspection and the CLI's samples).
    public private(set) var lastSamples: [PromptResponse] = []

    public init(model: any AlignmentModel, tokenizer: any TextTokenizer, prompts: [[Int]], reward: any RewardFunction,
                settings: GRPOSettings) throws {
        guard !prompts.isEmpty else { throw RunError.invalidConfiguration("RLHF needs at least one prompt") }
        guard settings.groupSize >= 2 else {
            throw RunError.invalidConfiguration("GRPO needs at least 2 responses per prompt to compare (group size \(settings.groupSize))")
        }
        guard settings.promptsPerStep >= 1, settings.maxResponseTokens >= 1 else {
            throw RunError.invalidConfiguration("prompts per step and max response tokens must be at least 1")
        }
        guard settings.temperature > 0, settings.beta >= 0 else {
            throw RunError.invalidConfiguration("temperature must be positive and the KL weight (beta) non-negative")
        }
        for p in prompts where p.isEmpty || p.count + settings.maxResponseTokens > model.contextLength {
            throw RunError.invalidConfiguration(
                "a prompt of \(p.count) tokens plus \(settings.maxResponseTokens) response tokens does not fit the context of \(model.contextLength)")
        }
        self.model = model
        self.prompts = prompts
        self.reward = reward
        self.settings = settings
        optimizer = try settings.optimization.makeOptimizer(model.trainableParameters)
        order = EpochOrder(count: prompts.count, seed: settings.seed)
        self.tokenizer = tokenizer
    }

    /// Samples `groupSize` responses to `prompt` from the current policy; a response that ended with
    /// an end-of-generation token keeps it (the policy learns when to stop).
    public func sample(prompt: [Int], step: Int, promptSlot: Int) throws -> [PromptResponse] {
        let generator = TextGenerator(model: try model.makeSamplingModel(), tokenizer: tokenizer, label: "whetstone.grpo.sampling")
        return try (0..<settings.groupSize).map { i in
            var sampler = SamplerSettings(temperature: settings.temperature, topK: 0, topP: 1, minP: 0)
            sampler.seed = settings.seed &+ UInt64(step) &* 1_000_003 &+ UInt64(promptSlot) &* 1009 &+ UInt64(i)
            let job = GenerationJob(promptTokens: prompt.map { Int32($0) }, sampler: sampler, maxTokens: settings.maxResponseTokens)
            let summary = try generator.generate(job)
            var response = summary.tokenIds.map(Int.init)
            if summary.stopReason == .endOfGeneration, let stop = summary.stopToken { response.append(Int(stop)) }
            return PromptResponse(prompt: prompt, response: response)
        }
    }

    public func trainStep(_ step: Int) throws -> StepResult {
        optimizer.zeroGrad()
        let promptIndices = order.indices(step: step, batchSize: settings.promptsPerStep)
        let total = Double(promptIndices.count * settings.groupSize)
        var rewards: [Double] = [], groupStds: [Double] = [], kls: [Double] = [], lengths: [Double] = []
        var loss = 0.0, tokens = 0
        var samples: [PromptResponse] = []
        for (slot, index) in promptIndices.enumerated() {
            // Responses that are empty (max tokens reached before any token) cannot be scored by log-probs.
            let group = try sample(prompt: prompts[index], step: step, promptSlot: slot).filter { !$0.response.isEmpty }
            guard !group.isEmpty else { continue }
            samples += group
            let scores = try reward.rewards(for: group)
            let mean = scores.reduce(0, +) / Double(scores.count)
            groupStds.append((scores.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(scores.count)).squareRoot())
            let advantages = GroupAdvantages.compute(rewards: scores)
            let referenceLogProbs = try model.responseLogProbs(group, reference: true)
            let g = Graph()
            let batch = try ResponseBatch(group)
            let policy = try ResponseLogProbs.compute(model, g, batch: batch, reference: false)
            var tokenGradients: [[Double]] = []
            for (i, (lp, ref)) in zip(policy.perToken, referenceLogProbs).enumerated() {
                let length = Double(lp.count)
                var kl = 0.0, grads: [Double] = []
                for (p, r) in zip(lp, ref) {
                    kl += KLEstimate.k3(policyLogProb: p, referenceLogProb: r) / length
                    grads.append((-advantages[i] + settings.beta * KLEstimate.k3Gradient(policyLogProb: p, referenceLogProb: r))
                                 / length / total)
                }
                tokenGradients.append(grads)
                loss += (-advantages[i] + settings.beta * kl) / total
                kls.append(kl)
                lengths.append(length)
            }
            try g.backward(policy.node, seed: policy.seed(tokenGradients: tokenGradients))
            rewards += scores
            tokens += batch.responseTokenCount
        }
        lastSamples = samples
        guard !rewards.isEmpty else { throw RunError.invalidConfiguration("no response was sampled at step \(step)") }
        let (rate, norm) = settings.optimization.apply(step: step, loss: loss, optimizer: optimizer)
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        let extra = ["reward": mean(rewards), "reward_std": mean(groupStds), "kl": mean(kls),
                     "completions/mean_length": mean(lengths)]
        return StepResult(loss: loss, learningRate: rate, gradNorm: norm, tokens: tokens, extra: extra)
    }

    public func validationLoss() throws -> Double? { nil }

    public func saveCheckpoint(to folder: URL) throws {
        try model.saveTrainable(to: folder.appendingPathComponent(DPOTask.weightsFile))
        try optimizer.saveState(to: folder.appendingPathComponent(DPOTask.optimizerFile))
    }

    public func loadCheckpoint(from folder: URL) throws {
        try model.loadTrainable(from: folder.appendingPathComponent(DPOTask.weightsFile))
        try optimizer.loadState(from: folder.appendingPathComponent(DPOTask.optimizerFile))
    }
}
