import Engine
import Foundation

public enum GradientClipping {
    /// Global L2 norm of the gradients of `parameters` (accumulated in Float64).
    public static func globalNorm(_ parameters: [Parameter]) -> Double {
        var total = 0.0
        for p in parameters where p.isTrainable {
            guard let g = p.grad else { continue }
            let gp = g.basePointer
            for i in 0..<g.count { total += Double(gp[i]) * Double(gp[i]) }
        }
        return total.squareRoot()
    }

    /// Scales all gradients so their global norm is at most `maxNorm` (as torch.nn.utils.clip_grad_norm_);
    /// returns the norm before clipping. A non-finite norm is returned and nothing is scaled.
    @discardableResult
    public static func clipGlobalNorm(_ parameters: [Parameter], maxNorm: Double) -> Double {
        let norm = globalNorm(parameters)
        guard norm.isFinite, norm > maxNorm, norm > 0 else { return norm }
        let factor = Float(maxNorm / (norm + 1e-6))
        for p in parameters where p.isTrainable {
            guard let g = p.grad else { continue }
            let gp = g.basePointer
            for i in 0..<g.count { gp[i] *= factor }
        }
        return norm
    }
}

/// What one micro-batch contributes: its graph, its loss node (a scalar mean over its tokens) and
/// how many tokens it trained on.
public struct MicroBatchLoss {
    public let graph: Graph
    public let loss: Value
    public let tokens: Int

    public init(graph: Graph, loss: Value, tokens: Int) {
        self.graph = graph
        self.loss = loss
        self.tokens = tokens
    }
}

/// One optimizer step with gradient accumulation, global-norm clipping and a learning-rate schedule.
///
/// Each of the `accumulationSteps` micro-batches is back-propagated with weight 1/accumulationSteps,
/// so the accumulated gradient is the mean of the micro-batch gradients — the gradient of one
/// batch that many times larger when micro-batches carry equal token counts.
public struct GradientStep {
    public var schedule: LearningRateSchedule
    /// Clip the global gradient norm to this value; nil = no clipping.
    public var maxGradNorm: Double?
    public var accumulationSteps: Int

    public init(schedule: LearningRateSchedule, maxGradNorm: Double? = 1.0, accumulationSteps: Int = 1) throws {
        try schedule.validate()
        guard accumulationSteps >= 1 else {
            throw OptimizerError.invalidSettings("gradient accumulation needs at least 1 micro-batch per step")
        }
        if let maxGradNorm, !(maxGradNorm > 0) {
            throw OptimizerError.invalidSettings("max gradient norm must be positive, got \(maxGradNorm)")
        }
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.accumulationSteps = accumulationSteps
    }

    /// Runs step `step` (1-based): zeroes gradients, accumulates `microBatch(0..<accumulationSteps)`,
    /// clips, updates. The reported loss is the mean of the micro-batch losses; the grad norm is the
    /// one before clipping. A non-finite loss or norm skips the update and is reported as it is.
    public func run(step: Int, optimizer: AdamW, microBatch: (Int) throws -> MicroBatchLoss) throws -> StepResult {
        optimizer.zeroGrad()
        var lossTotal = 0.0, tokens = 0
        let weight = Tensor.filled([], with: 1 / Float(accumulationSteps))
        for index in 0..<accumulationSteps {
            let batch = try microBatch(index)
            try batch.graph.backward(batch.loss, seed: weight)
            lossTotal += Double(batch.graph.value(batch.loss).toArray().first ?? .nan)
            tokens += batch.tokens
        }
        let loss = lossTotal / Double(accumulationSteps)
        let rate = schedule.rate(atStep: step)
        let norm = maxGradNorm.map { GradientClipping.clipGlobalNorm(optimizer.parameters, maxNorm: $0) }
            ?? GradientClipping.globalNorm(optimizer.parameters)
        if loss.isFinite && norm.isFinite { optimizer.step(learningRate: rate) }
        return StepResult(loss: loss, learningRate: rate, gradNorm: norm, tokens: tokens)
    }
}
