import Engine
import Foundation
import Training

/// One training run the Train pane starts.
public struct TrainingPlan: Sendable, Equatable {
    public var method: TrainingMethod
    /// The Gemma 3 GGUF to train on.
    public var modelPath: String
    public var dataPath: String
    public var steps: Int
    /// Sequences (LoRA), preference pairs (DPO, reward model) or prompts (RLHF) per step.
    public var batchSize: Int
    /// The run folder (metrics.jsonl, run.json, checkpoints/, and adapter/ or reward/ at the end).
    public var folder: URL
    /// Continue from the newest checkpoint in `folder` (same method, model, data and batch size).
    public var resume: Bool
    /// RLHF: the reward/ folder of a reward-model run.
    public var rewardModel: String?

    public init(method: TrainingMethod, modelPath: String, dataPath: String, steps: Int, batchSize: Int = TrainerCatalog.batchSize,
                folder: URL, resume: Bool = false, rewardModel: String? = nil) {
        self.method = method
        self.modelPath = modelPath
        self.dataPath = dataPath
        self.steps = steps
        self.batchSize = batchSize
        self.folder = folder
        self.resume = resume
        self.rewardModel = rewardModel
    }

    /// What `run.json` records. A resumed run may change only the number of steps.
    public var record: RunRecord {
        var arguments = ["steps": "\(steps)", "batch_size": "\(batchSize)"]
        if let rewardModel { arguments["reward"] = rewardModel }
        return RunRecord(method: method.rawValue, model: modelPath, data: dataPath, arguments: arguments)
    }
}

public enum TrainingWorkError: Error, CustomStringConvertible, Equatable {
    case unavailable(TrainingMethod, String)

    public var description: String {
        switch self {
        case let .unavailable(m, reason): "\(m.rawValue) training is not available: \(reason)"
        }
    }
}

/// The trainers the pane can start, by method, with the defaults it uses. A method without one
/// reports why, so the Train pane can say so rather than pretend.
public enum TrainerCatalog {
    /// Steps a run starts with (the pane's steps slider changes it).
    public static let defaultSteps = 50
    /// The `whet train` default: sequences, pairs or prompts per step.
    public static let batchSize = 4

    /// Why `method` cannot run from the pane, or nil when it can. RLHF needs `rewardModel`.
    public static func availability(_ method: TrainingMethod, rewardModel: String?) -> String? {
        switch method {
        case .lora, .qlora, .dpo, .reward: nil
        case .sft: "full fine-tuning runs from the command line (`whet train sft` on a safetensors model folder); the pane trains LoRA adapters on the GGUF model"
        case .rlhf where rewardModel == nil:
            "it needs a reward model, and there is none in this workspace's runs/ yet; train one first: method reward, Ctrl-R (or `whet train reward --out RUNS/NAME`)"
        case .rlhf: nil
        }
    }

    /// The sample data a method starts with.
    public static func defaultData(for method: TrainingMethod) -> String {
        switch method {
        case .sft, .lora, .qlora: "data/samples/sft.jsonl"
        case .dpo, .reward, .rlhf: "data/samples/preferences.jsonl"
        }
    }

    /// `runs/` of the workspace (the temporary folder without one).
    public static func runsFolder(workspace: URL?) -> URL {
        (workspace ?? FileManager.default.temporaryDirectory).appendingPathComponent("runs")
    }

    /// A new run folder `runs/workbench-METHOD-SECONDS`.
    public static func newRunFolder(_ method: TrainingMethod, in runs: URL, now: Date = Date()) -> URL {
        runs.appendingPathComponent("workbench-\(method.rawValue)-\(Int(now.timeIntervalSince1970))")
    }

    /// A run the pane can continue: its folder, what it recorded and the step of its newest checkpoint.
    public struct Resumable: Sendable, Equatable {
        public let folder: URL
        public let record: RunRecord
        public let step: Int
    }

    /// The newest pane run of `method` in `runs` that has a checkpoint and a run.json.
    public static func latestResumable(_ method: TrainingMethod, in runs: URL) -> Resumable? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: runs.path) else { return nil }
        let prefix = "workbench-\(method.rawValue)-"
        // Folder names end in the start time in seconds: the largest is the newest.
        let candidates = names.filter { $0.hasPrefix(prefix) }
            .sorted { (Int($0.dropFirst(prefix.count)) ?? 0) > (Int($1.dropFirst(prefix.count)) ?? 0) }
        for name in candidates {
            let folder = runs.appendingPathComponent(name)
            guard let record = RunRecord.read(from: folder), record.method == method.rawValue,
                  let latest = try? CheckpointStore(folder: folder.appendingPathComponent("checkpoints")).latest() else { continue }
            return Resumable(folder: folder, record: record, step: latest.state.step)
        }
        return nil
    }

    /// A LoRA (= QLoRA: the frozen base stays in its GGUF blocks) run with the defaults of
    /// `whet train lora`: rank 8, alpha 16, q/k/v/o, lr 2e-4, rows of 128 tokens, completion-only
    /// loss, 10 % held out for validation. Checkpoints and the end of the run hold `adapter/` (PEFT).
    static func languageModelTask(_ plan: TrainingPlan) throws -> (task: LanguageModelTask, save: (URL) throws -> URL) {
        let file = try GGUFFile(path: plan.modelPath)
        let gemma = try Gemma3Model(file: file)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let settings = LanguageModelTrainingSettings(batchSize: plan.batchSize)
        let trainable = try Gemma3TrainableModel(model: gemma, lora: LoRAConfiguration(), seed: settings.seed)
        let template = try ChatTemplate.resolve("auto", gguf: file.metadata)
        let formatting = SFTFormatting(template: template, completionOnly: true, endOfSequence: Int(tokenizer.eosID))
        let dataset = try Dataset.load(path: plan.dataPath)
        try dataset.requireKind([.text, .promptCompletion, .conversation, .instruction])
        let (train, validation) = dataset.split(validationFraction: 0.1, seed: settings.seed)
        func rows(_ examples: [DatasetExample]) throws -> [TrainingRow] {
            SequenceLayout.pad.rows(try examples.map { try formatting.tokenize($0.record, with: tokenizer) }, length: 128,
                                    padToken: Int(tokenizer.padID ?? 0))
        }
        let task = try LanguageModelTask(model: trainable, rows: try rows(train), validationRows: try rows(validation), settings: settings)
        let baseName = URL(fileURLWithPath: plan.modelPath).lastPathComponent
        task.exportFiles = { folder in try trainable.peftAdapter(baseModel: baseName)?.save(to: folder.appendingPathComponent("adapter")) }
        return (task, { out in
            let adapter = out.appendingPathComponent("adapter")
            try trainable.peftAdapter(baseModel: baseName)?.save(to: adapter)
            return adapter
        })
    }

    /// The library's alignment method for `plan` (nil for the language-model methods).
    static func alignmentMethod(_ plan: TrainingPlan) throws -> AlignmentMethod? {
        switch plan.method {
        case .dpo: return .dpo()
        case .reward: return .reward
        case .rlhf:
            guard let reward = plan.rewardModel else {
                throw TrainingWorkError.unavailable(.rlhf, availability(.rlhf, rewardModel: nil) ?? "no reward model")
            }
            return .rlhf(rewardModel: reward)
        case .sft, .lora, .qlora: return nil
        }
    }
}

/// A training run on the training queue: builds the task (opening the model, reading the data —
/// the same code `whet train` uses), records run.json, runs it under `control` posting every
/// `RunEvent`, and writes the result (adapter/ or reward/) when the run completes.
public enum TrainingWork {
    public static func run(_ plan: TrainingPlan, control: RunControl, context ctx: JobContext) throws {
        if let reason = TrainerCatalog.availability(plan.method, rewardModel: plan.rewardModel) {
            throw TrainingWorkError.unavailable(plan.method, reason)
        }
        if plan.resume {
            try plan.record.checkResume(in: plan.folder)
            // The curve so far, so the charts show the whole run (the runner drops later lines too).
            if let latest = try CheckpointStore(folder: plan.folder.appendingPathComponent("checkpoints")).latest() {
                for m in earlierSteps(in: plan.folder, upTo: latest.state.step) { ctx.post(.training(.step(m))) }
            }
        }
        let task: any TrainableTask
        let settings: RunSettings
        let save: (URL) throws -> URL
        if let method = try TrainerCatalog.alignmentMethod(plan) {
            let run = try AlignmentRun.prepare(method, AlignmentRunSettings(model: plan.modelPath, data: plan.dataPath, steps: plan.steps,
                                                                            batchSize: plan.batchSize))
            task = run.task
            settings = run.runSettings()
            save = { try run.saveResult(in: $0) }
        } else {
            let lm = try TrainerCatalog.languageModelTask(plan)
            task = lm.task
            settings = RunSettings(totalSteps: plan.steps, checkpointEvery: 25, validateEvery: 10)
            save = lm.save
        }
        if ctx.isCancelled { return }
        try plan.record.write(to: plan.folder)
        let runner = TrainingRunner(task: task, folder: plan.folder, settings: settings, control: control)
        let summary = try runner.run(resume: plan.resume) { event in
            ctx.post(.training(event))
            if ctx.isCancelled { control.cancel() }
            return .proceed
        }
        if summary != nil { ctx.post(.trainingOutput(try save(plan.folder).path)) }
    }

    /// The lines of `metrics.jsonl` in `folder` up to `step` (unreadable lines are skipped: the
    /// chart is a picture of the file, the run does not depend on it).
    static func earlierSteps(in folder: URL, upTo step: Int) -> [StepMetrics] {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("metrics.jsonl")) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(StepMetrics.self, from: Data($0)) }
            .filter { $0.step <= step }
    }
}
