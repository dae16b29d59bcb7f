import Dispatch
import Engine
import Foundation

/// A training method as the runner sees it: SFT, LoRA, DPO, reward model and RLHF each implement
/// this over their own model and data. The runner owns the loop, events, metrics and checkpoints.
public protocol TrainableTask: AnyObject {
    /// One optimizer step (gradient accumulation included) for step number `step` (1-based).
    func trainStep(_ step: Int) throws -> StepResult
    /// Loss on the validation split, or nil when there is none.
    func validationLoss() throws -> Double?
    /// Writes everything needed to continue exactly (weights, optimizer state, data order, RNG) into `folder`.
    func saveCheckpoint(to folder: URL) throws
    /// Restores what `saveCheckpoint` wrote.
    func loadCheckpoint(from folder: URL) throws
}

public struct RunSettings: Sendable, Equatable {
    public var totalSteps: Int
    /// Write a checkpoint every N steps (and always at the end and on cancel); 0 = only then.
    public var checkpointEvery: Int
    /// Compute the validation loss every N steps (and at the end); 0 = only at the end.
    public var validateEvery: Int
    /// Checkpoints kept on disk (oldest removed first).
    public var keepCheckpoints: Int

    public init(totalSteps: Int, checkpointEvery: Int = 50, validateEvery: Int = 0, keepCheckpoints: Int = 2) {
        self.totalSteps = totalSteps
        self.checkpointEvery = checkpointEvery
        self.validateEvery = validateEvery
        self.keepCheckpoints = keepCheckpoints
    }
}

/// Runs a `TrainableTask` in a run folder: `metrics.jsonl` (one line per step) and
/// `checkpoints/step-NNNNNNNN/` (each written to a temporary folder, then renamed).
public final class TrainingRunner {
    public let folder: URL
    public let settings: RunSettings
    public let control: RunControl
    private let task: any TrainableTask

    public init(task: any TrainableTask, folder: URL, settings: RunSettings, control: RunControl = RunControl()) {
        self.task = task
        self.folder = folder
        self.settings = settings
        self.control = control
    }

    public var metricsURL: URL { folder.appendingPathComponent("metrics.jsonl") }
    public var checkpoints: CheckpointStore { CheckpointStore(folder: folder.appendingPathComponent("checkpoints")) }

    /// Runs on a background queue; events arrive on that queue. `completion` gets the summary
    /// (nil when cancelled or failed).
    public func start(on queue: DispatchQueue = DispatchQueue(label: "whet.training", qos: .userInitiated),
                      resume: Bool, onEvent: @escaping @Sendable (RunEvent) -> Directive,
                      completion: @escaping @Sendable (Result<RunSummary?, any Error>) -> Void) {
        let box = UncheckedSendableBox(self)
        queue.async {
            completion(Result { try box.value.run(resume: resume, onEvent: onEvent) })
        }
    }

    /// Runs the loop on the calling thread until done, cancelled or failed.
    @discardableResult
    public func run(resume: Bool, onEvent: (RunEvent) -> Directive) throws -> RunSummary? {
        guard settings.totalSteps > 0 else { throw RunError.invalidConfiguration("the run needs at least one step") }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var firstStep = 1
        let metrics = MetricsLog(url: metricsURL)
        var elapsedBefore = 0.0
        var bestValidation: Double?
        if resume {
            guard let latest = try checkpoints.latest() else { throw RunError.noCheckpoint(folder: checkpoints.folder.path) }
            try task.loadCheckpoint(from: latest.folder)
            firstStep = latest.state.step + 1
            elapsedBefore = latest.state.elapsedSeconds
            bestValidation = latest.state.bestValidationLoss
            // Steps after the checkpoint will be trained again: drop their old lines.
            try metrics.truncate(afterStep: latest.state.step)
        } else {
            try metrics.reset()
            try checkpoints.removeAll()
        }
        if onEvent(.started(firstStep: firstStep, totalSteps: settings.totalSteps, resumed: resume)) == .stop {
            return nil
        }

        let clock = ContinuousClock()
        let sessionStart = clock.now
        var lastLoss = Double.nan
        var recent: [(tokens: Int, seconds: Double)] = []
        var lastCompleted = firstStep - 1
        func elapsed() -> Double { elapsedBefore + seconds(sessionStart.duration(to: clock.now)) }

        func saveCheckpoint(_ step: Int) throws {
            let state = TrainerState(step: step, elapsedSeconds: elapsed(), bestValidationLoss: bestValidation)
            let url = try checkpoints.write(state: state) { try task.saveCheckpoint(to: $0) }
            try checkpoints.prune(keeping: settings.keepCheckpoints)
            _ = onEvent(.checkpointSaved(step: step, path: url.path))
        }

        var step = firstStep
        while step <= settings.totalSteps {
            let proceed = control.waitWhilePaused(onPause: { _ = onEvent(.paused(step: lastCompleted)) },
                                                  onResume: { _ = onEvent(.resumed(step: lastCompleted)) })
            if !proceed {
                if lastCompleted >= firstStep { try saveCheckpoint(lastCompleted) }
                _ = onEvent(.cancelled(step: lastCompleted))
                return nil
            }
            let stepStart = clock.now
            let result = try task.trainStep(step)
            guard result.loss.isFinite else {
                let error = RunError.nonFiniteLoss(step: step, value: result.loss)
                _ = onEvent(.failed(step: step, message: error.description))
                throw error
            }
            lastLoss = result.loss
            lastCompleted = step
            let stepSeconds = max(seconds(stepStart.duration(to: clock.now)), 1e-9)
            recent.append((result.tokens, stepSeconds))
            if recent.count > 10 { recent.removeFirst() }
            let throughput = Double(recent.map(\.tokens).reduce(0, +)) / recent.map(\.seconds).reduce(0, +)

            var validation: Double?
            let validateNow = step == settings.totalSteps || (settings.validateEvery > 0 && step % settings.validateEvery == 0)
            if validateNow, let v = try task.validationLoss() {
                validation = v
                bestValidation = min(bestValidation ?? v, v)
            }
            let sessionSteps = Double(step - firstStep + 1)
            let perStep = seconds(sessionStart.duration(to: clock.now)) / sessionSteps
            let line = StepMetrics(step: step, totalSteps: settings.totalSteps, loss: result.loss, validationLoss: validation,
                                   learningRate: result.learningRate, gradNorm: result.gradNorm, tokensPerSecond: throughput,
                                   elapsedSeconds: elapsed(), etaSeconds: perStep * Double(settings.totalSteps - step),
                                   extra: result.extra)
            try metrics.append(line)
            let directive = onEvent(.step(line))
            if step == settings.totalSteps || (settings.checkpointEvery > 0 && step % settings.checkpointEvery == 0) {
                try saveCheckpoint(step)
            }
            if directive == .stop { control.cancel() }
            step += 1
        }
        let summary = RunSummary(steps: settings.totalSteps, finalLoss: lastLoss, bestValidationLoss: bestValidation,
                                 elapsedSeconds: elapsed())
        _ = onEvent(.finished(summary))
        return summary
    }
}

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// `metrics.jsonl`: one JSON object per step, appended as steps finish.
struct MetricsLog {
    let url: URL

    func reset() throws {
        try Data().write(to: url, options: .atomic)
    }

    func append(_ metrics: StepMetrics) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = try encoder.encode(metrics)
        data.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: url.path) { try Data().write(to: url) }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }

    /// Keeps the lines of steps ≤ `step` (atomically rewritten).
    func truncate(afterStep step: Int) throws {
        guard let data = try? Data(contentsOf: url) else { return try reset() }
        var kept = Data()
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let m = try? JSONDecoder().decode(StepMetrics.self, from: Data(line)), m.step <= step else { continue }
            kept.append(contentsOf: line)
            kept.append(UInt8(ascii: "\n"))
        }
        try kept.write(to: url, options: .atomic)
    }

    static func read(_ url: URL) throws -> [StepMetrics] {
        let data = try Data(contentsOf: url)
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(StepMetrics.self, from: Data($0)) }
    }
}
