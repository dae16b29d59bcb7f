import Engine
import Foundation

/// Optimizer and batching settings of a causal-LM run (SFT, LoRA, QLoRA, pretraining).
public struct LanguageModelTrainingSettings: Sendable, Equatable {
    /// Sequences per micro-batch.
    public var batchSize: Int
    /// Micro-batches per optimizer step.
    public var accumulationSteps: Int
    public var schedule: LearningRateSchedule
    public var maxGradNorm: Double?
    public var adamW: AdamWSettings
    /// Seeds the data order and the dropout masks.
    public var seed: UInt64

    public init(batchSize: Int = 4, accumulationSteps: Int = 1, schedule: LearningRateSchedule = .constant(2e-4),
                maxGradNorm: Double? = 1.0, adamW: AdamWSettings = AdamWSettings(weightDecay: 0), seed: UInt64 = 42) {
        self.batchSize = batchSize
        self.accumulationSteps = accumulationSteps
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.adamW = adamW
        self.seed = seed
    }
}

/// Next-token training of any `TrainableLanguageModel` on fixed-length rows: the `TrainableTask`
/// behind `whet train sft|lora|qlora|pretrain`.
///
/// Everything a step depends on is a function of the step number (batch order, dropout seeds) or
/// saved in the checkpoint (trainable weights, AdamW moments and step count), so a resumed run
/// repeats the loss curve of an uninterrupted one exactly.
public final class LanguageModelTask: TrainableTask {
    public let model: any TrainableLanguageModel
    public let batches: BatchSchedule
    public let validationRows: [TrainingRow]
    public let settings: LanguageModelTrainingSettings
    public let optimizer: AdamW
    private let gradientStep: GradientStep
    /// Extra files for each checkpoint folder (e.g. the PEFT adapter, or a loadable model folder).
    public var exportFiles: ((URL) throws -> Void)?

    public static let weightsFile = "trainable.safetensors"
    public static let optimizerFile = "optimizer.safetensors"

    public init(model: any TrainableLanguageModel, rows: [TrainingRow], validationRows: [TrainingRow],
                settings: LanguageModelTrainingSettings) throws {
        self.model = model
        batches = try BatchSchedule(rows: rows, batchSize: settings.batchSize, seed: settings.seed)
        self.validationRows = validationRows
        self.settings = settings
        guard !model.trainableParameters.isEmpty else {
            throw RunError.invalidConfiguration("the model has no trainable parameters")
        }
        optimizer = try AdamW(parameters: model.trainableParameters, settings: settings.adamW)
        gradientStep = try GradientStep(schedule: settings.schedule, maxGradNorm: settings.maxGradNorm,
                                        accumulationSteps: settings.accumulationSteps)
    }

    public func trainStep(_ step: Int) throws -> StepResult {
        var scored = 0
        var result = try gradientStep.run(step: step, optimizer: optimizer) { index in
            let micro = (step - 1) * settings.accumulationSteps + index
            let batch = try BatchSchedule.tokenBatch(batches.batch(micro))
            scored += batch.scoredCount
            let g = Graph()
            let loss = try model.loss(g, batch: batch, dropoutSeed: settings.seed &+ UInt64(micro) &* 0x2545_F491_4F6C_DD1D)
            return MicroBatchLoss(graph: g, loss: loss, tokens: batch.tokens.count)
        }
        result.extra["scored_tokens"] = Double(scored)
        return result
    }

    /// Mean negative log-likelihood per scored token over the validation rows (adapters on, no dropout).
    public func validationLoss() throws -> Double? {
        guard !validationRows.isEmpty else { return nil }
        var total = 0.0, count = 0
        var start = 0
        while start < validationRows.count {
            let rows = Array(validationRows[start..<min(validationRows.count, start + settings.batchSize)])
            let batch = try BatchSchedule.tokenBatch(rows)
            let logProbs = try model.evaluateLogProbs(batch: batch)
            for (lp, target) in zip(logProbs, batch.targets) where target != Graph.ignoreIndex {
                total -= Double(lp)
                count += 1
            }
            start += settings.batchSize
        }
        return count > 0 ? total / Double(count) : nil
    }

    public func saveCheckpoint(to folder: URL) throws {
        var writer = SafetensorsWriter()
        for p in model.trainableParameters { writer.add(p.name, p.value) }
        writer.metadata = ["format": "whetstone.trainable.v1"]
        try writer.write(to: folder.appendingPathComponent(Self.weightsFile))
        try optimizer.saveState(to: folder.appendingPathComponent(Self.optimizerFile))
        try exportFiles?(folder)
    }

    public func loadCheckpoint(from folder: URL) throws {
        let url = folder.appendingPathComponent(Self.weightsFile)
        let file = try SafetensorsFile(path: url.path)
        for p in model.trainableParameters {
            guard file.contains(p.name) else {
                throw RunError.checkpointUnreadable(path: url.path, reason: "it has no tensor \(p.name); resume with the settings the run started with")
            }
            let t = try file.tensor(p.name)
            guard t.shape == p.shape else {
                throw RunError.checkpointUnreadable(path: url.path, reason: "\(p.name) has shape \(t.shape), the model \(p.shape)")
            }
            p.value = t.contiguous()
        }
        try optimizer.loadState(from: folder.appendingPathComponent(Self.optimizerFile))
    }
}
