import Engine
import Foundation

/// Building a DPO, reward-model or RLHF run on a Gemma 3 GGUF from files and settings, and writing
/// its results: the one home of what `whet train dpo|reward|rlhf` and the workbench's Train pane
/// both need (they differ only in how they report progress).

public enum AlignmentSetupError: Error, CustomStringConvertible, Equatable {
    case invalidSetting(String)
    case rewardModelUnreadable(path: String)
    case rewardBaseMismatch(rewardBase: String, policyBase: String)

    public var description: String {
        switch self {
        case let .invalidSetting(text): return text
        case let .rewardModelUnreadable(path):
            return "\(path) is missing or unreadable; pass the reward/ folder of a `whet train reward` run"
        case let .rewardBaseMismatch(rewardBase, policyBase):
            return "the reward model was trained on \(rewardBase), the policy is \(policyBase); use the same base model"
        }
    }
}

/// A Gemma 3 GGUF opened for alignment: the model, its tokenizer and the prompt format.
public struct AlignmentBase {
    public let url: URL
    public let gemma: Gemma3Model
    public let tokenizer: SentencePieceTokenizer
    public let format: ConversationFormat
    /// The chat template actually used (`auto` resolved), as recorded with a reward model.
    public let templateName: String

    /// `model` is a .gguf path or an installed model's name; `template` auto, gemma, chatml, llama3 or none.
    public init(model: String, template templateOption: String = "auto", maxPromptTokens: Int = 128,
                maxResponseTokens: Int = 64) throws {
        guard maxPromptTokens >= 2, maxResponseTokens >= 1 else {
            throw AlignmentSetupError.invalidSetting("max prompt tokens must be at least 2 and max response tokens at least 1")
        }
        url = try ModelLocator.locate(model)
        let file = try GGUFFile(path: url.path)
        gemma = try Gemma3Model(file: file)
        tokenizer = try SentencePieceTokenizer(gguf: file)
        let template = try ChatTemplate.resolve(templateOption, gguf: file.metadata)
        templateName = template.kind.rawValue
        format = try ConversationFormat.chat(tokenizer: tokenizer, template: template, maxPromptTokens: maxPromptTokens,
                                             maxResponseTokens: maxResponseTokens)
    }

    public func alignmentModel(lora: LoRAConfiguration, seed: UInt64) throws -> Gemma3AlignmentModel {
        try Gemma3AlignmentModel(trainable: Gemma3TrainableModel(model: gemma, lora: lora, seed: seed))
    }

    /// Training and held-out preference pairs of a `{"prompt","chosen","rejected"}` JSONL file.
    public func preferences(path: String, validationFraction: Double, seed: UInt64)
        throws -> (train: [EncodedPreference], validation: [EncodedPreference]) {
        guard (0..<1).contains(validationFraction) else {
            throw AlignmentSetupError.invalidSetting("the validation fraction must be in [0, 1), not \(validationFraction)")
        }
        let dataset = try Dataset.load(path: (path as NSString).expandingTildeInPath)
        try dataset.requireKind([.preference])
        let (train, validation) = dataset.split(validationFraction: validationFraction, seed: seed)
        return (try train.map(format.encode), try validation.map(format.encode))
    }

    /// The distinct prompts (in file order) of preference or prompt/completion records, tokenized as
    /// the opening of a conversation: what RLHF samples responses to.
    public func prompts(path: String) throws -> [[Int]] {
        let dataset = try Dataset.load(path: (path as NSString).expandingTildeInPath)
        try dataset.requireKind([.preference, .promptCompletion])
        var texts: [String] = []
        for e in dataset.examples {
            switch e.record {
            case let .preference(prompt, _, _), let .promptCompletion(prompt, _): if !texts.contains(prompt) { texts.append(prompt) }
            default: break
            }
        }
        return try texts.map(format.promptTokens)
    }
}

/// What `OUT/reward/reward_model.json` says about a trained reward model, so scoring and RLHF can rebuild it.
public struct RewardModelRecord: Codable, Sendable, Equatable {
    public var base_model: String
    public var template: String
    public var rank: Int
    public var alpha: Float
    public var targets: [String]
    public var max_prompt_tokens: Int
    public var max_response_tokens: Int

    public static let fileName = "reward_model.json"
    /// The folder a reward-model run writes inside its run folder.
    public static let folderName = "reward"

    public init(base_model: String, template: String, rank: Int, alpha: Float, targets: [String], max_prompt_tokens: Int,
                max_response_tokens: Int) {
        self.base_model = base_model
        self.template = template
        self.rank = rank
        self.alpha = alpha
        self.targets = targets
        self.max_prompt_tokens = max_prompt_tokens
        self.max_response_tokens = max_response_tokens
    }

    public func configuration() throws -> LoRAConfiguration {
        let c = LoRAConfiguration(rank: rank, alpha: alpha, dropout: 0, targets: try LoRATarget.parseList(targets.joined(separator: ",")))
        try c.validate()
        return c
    }

    public static func read(_ folder: URL) throws -> RewardModelRecord {
        let url = folder.appendingPathComponent(fileName)
        guard let bytes = FileManager.default.contents(atPath: url.path),
              let record = try? JSONDecoder().decode(RewardModelRecord.self, from: bytes) else {
            throw AlignmentSetupError.rewardModelUnreadable(path: url.path)
        }
        return record
    }

    /// Opens the base and the trained reward model saved in `folder` (`model` overrides the recorded base).
    public static func open(_ folder: URL, model override: String? = nil) throws -> (AlignmentBase, ScalarRewardModel) {
        let record = try read(folder)
        let base = try AlignmentBase(model: override ?? record.base_model, template: record.template,
                                     maxPromptTokens: record.max_prompt_tokens, maxResponseTokens: record.max_response_tokens)
        let backbone = try base.alignmentModel(lora: try record.configuration(), seed: 0)
        let reward = ScalarRewardModel(backbone: backbone, seed: 0)
        try reward.load(from: folder.appendingPathComponent(RewardModelTask.weightsFile))
        return (base, reward)
    }

    /// The most recently written reward model in `runs` (any `runs/NAME/reward/` with a record), or nil.
    public static func newest(in runs: URL) -> URL? {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: runs.path) else { return nil }
        var best: (url: URL, date: Date)?
        for name in names {
            let folder = runs.appendingPathComponent(name).appendingPathComponent(folderName)
            let record = folder.appendingPathComponent(fileName)
            guard fm.fileExists(atPath: folder.appendingPathComponent(RewardModelTask.weightsFile).path),
                  let attributes = try? fm.attributesOfItem(atPath: record.path),
                  let date = attributes[.modificationDate] as? Date else { continue }
            if let current = best, current.date >= date { continue }
            best = (folder, date)
        }
        return best?.url
    }
}

/// Settings every alignment run shares (the flags `whet train dpo|reward|rlhf` have in common).
public struct AlignmentRunSettings: Sendable, Equatable {
    /// A Gemma 3 .gguf path or an installed model's name.
    public var model: String
    /// Preference JSONL (RLHF: its prompts, or prompt/completion records).
    public var data: String
    public var validationFraction: Double
    public var template: String
    public var maxPromptTokens: Int
    /// Longest response kept (RLHF: most tokens sampled).
    public var maxResponseTokens: Int
    /// Dropout is always 0: DPO and GRPO compare policy and reference log-probs, which dropout would blur.
    public var lora: LoRAConfiguration
    public var steps: Int
    /// Pairs (DPO, reward model) or prompts (RLHF) per step.
    public var batchSize: Int
    public var optimization: AlignmentOptimization
    /// Held-out figures of the reward model every N steps (and at the end); 0 = only at the end.
    public var evaluateEvery: Int
    public var seed: UInt64

    public init(model: String, data: String, validationFraction: Double = 0, template: String = "auto",
                maxPromptTokens: Int = 128, maxResponseTokens: Int = 64, lora: LoRAConfiguration = LoRAConfiguration(dropout: 0),
                steps: Int = 100, batchSize: Int = 4,
                optimization: AlignmentOptimization = AlignmentOptimization(schedule: .constant(2e-4)),
                evaluateEvery: Int = 10, seed: UInt64 = 42) {
        self.model = model
        self.data = data
        self.validationFraction = validationFraction
        self.template = template
        self.maxPromptTokens = maxPromptTokens
        self.maxResponseTokens = maxResponseTokens
        var lora = lora
        lora.dropout = 0
        self.lora = lora
        self.steps = steps
        self.batchSize = batchSize
        self.optimization = optimization
        self.evaluateEvery = evaluateEvery
        self.seed = seed
    }
}

/// The method and its own settings.
public enum AlignmentMethod: Sendable, Equatable {
    case dpo(beta: Double = 0.1, variant: DPOLoss.Variant = .sigmoid)
    case reward
    /// `rewardModel`: a reward/ folder written by a reward-model run.
    case rlhf(rewardModel: String, groupSize: Int = 4, klBeta: Double = 0.04, temperature: Float = 1)

    public var name: String {
        switch self {
        case .dpo: "dpo"
        case .reward: "reward"
        case .rlhf: "rlhf"
        }
    }

    /// The step figures worth showing next to the loss, in `whet align`'s progress line and the Train
    /// pane's status alike (short enough for an 80-column pane; metrics.jsonl and the charts have the rest).
    public var headline: [String] {
        switch self {
        case .dpo: ["rewards/accuracies", "rewards/margins"]
        case .reward: ["accuracy", "margin", "eval/accuracy"]
        case .rlhf: ["reward", "kl"]
        }
    }
}

/// An alignment run ready for a `TrainingRunner`: the opened base, the data, the task, and how to
/// save its result when the run is done. Build it off the UI thread (it opens the model).
public final class AlignmentRun {
    public let method: AlignmentMethod
    public let settings: AlignmentRunSettings
    public let base: AlignmentBase
    public let task: any TrainableTask
    /// DPO, reward model: the pairs; RLHF: none.
    public let train: [EncodedPreference]
    public let validation: [EncodedPreference]
    /// RLHF: the prompts sampled from; otherwise none.
    public let prompts: [[Int]]
    /// The trained policy (DPO, RLHF) or reward-model backbone.
    public let policy: Gemma3AlignmentModel
    /// The reward model being trained (reward method only).
    public let rewardModel: ScalarRewardModel?

    public var dpoTask: DPOTask? { task as? DPOTask }
    public var rewardTask: RewardModelTask? { task as? RewardModelTask }
    public var grpoTask: GRPOTask? { task as? GRPOTask }

    public var trainableParameterCount: Int {
        (rewardModel?.trainableParameters ?? policy.trainableParameters).reduce(0) { $0 + $1.value.count }
    }

    /// One line on what the run trains on, e.g. "24 training pairs, 0 held out".
    public var dataDescription: String {
        switch method {
        case .dpo, .reward: "\(train.count) training pairs, \(validation.count) held out"
        case let .rlhf(_, groupSize, _, _): "\(prompts.count) prompts, \(groupSize) samples each"
        }
    }

    /// The runner's settings for this run.
    public func runSettings(checkpointEvery: Int = 25, validateEvery: Int = 10, keepCheckpoints: Int = 2) -> RunSettings {
        RunSettings(totalSteps: settings.steps, checkpointEvery: checkpointEvery, validateEvery: validateEvery,
                    keepCheckpoints: max(1, keepCheckpoints))
    }

    private init(method: AlignmentMethod, settings: AlignmentRunSettings, base: AlignmentBase, task: any TrainableTask,
                 train: [EncodedPreference], validation: [EncodedPreference], prompts: [[Int]], policy: Gemma3AlignmentModel,
                 rewardModel: ScalarRewardModel?) {
        self.method = method
        self.settings = settings
        self.base = base
        self.task = task
        self.train = train
        self.validation = validation
        self.prompts = prompts
        self.policy = policy
        self.rewardModel = rewardModel
    }

    /// Opens the model (and for RLHF the reward model), reads the data and builds the task.
    public static func prepare(_ method: AlignmentMethod, _ settings: AlignmentRunSettings) throws -> AlignmentRun {
        guard settings.steps > 0, settings.batchSize > 0 else {
            throw AlignmentSetupError.invalidSetting("steps and batch size must be positive")
        }
        try settings.lora.validate()
        switch method {
        case let .dpo(beta, variant):
            let base = try AlignmentBase(model: settings.model, template: settings.template, maxPromptTokens: settings.maxPromptTokens,
                                         maxResponseTokens: settings.maxResponseTokens)
            let (train, validation) = try base.preferences(path: settings.data, validationFraction: settings.validationFraction,
                                                           seed: settings.seed)
            let policy = try base.alignmentModel(lora: settings.lora, seed: settings.seed)
            let task = try DPOTask(model: policy, train: train, validation: validation, settings: DPOSettings(
                beta: beta, variant: variant, pairsPerStep: settings.batchSize, optimization: settings.optimization, seed: settings.seed))
            return AlignmentRun(method: method, settings: settings, base: base, task: task, train: train, validation: validation,
                                prompts: [], policy: policy, rewardModel: nil)
        case .reward:
            let base = try AlignmentBase(model: settings.model, template: settings.template, maxPromptTokens: settings.maxPromptTokens,
                                         maxResponseTokens: settings.maxResponseTokens)
            let (train, validation) = try base.preferences(path: settings.data, validationFraction: settings.validationFraction,
                                                           seed: settings.seed)
            let backbone = try base.alignmentModel(lora: settings.lora, seed: settings.seed)
            let reward = ScalarRewardModel(backbone: backbone, seed: settings.seed)
            let task = try RewardModelTask(rewardModel: reward, train: train, validation: validation, settings: RewardModelSettings(
                pairsPerStep: settings.batchSize, optimization: settings.optimization, evaluateEvery: settings.evaluateEvery,
                totalSteps: settings.steps, seed: settings.seed))
            return AlignmentRun(method: method, settings: settings, base: base, task: task, train: train, validation: validation,
                                prompts: [], policy: backbone, rewardModel: reward)
        case let .rlhf(rewardFolder, groupSize, klBeta, temperature):
            let (rewardBase, reward) = try RewardModelRecord.open(URL(fileURLWithPath: (rewardFolder as NSString).expandingTildeInPath))
            let base = try AlignmentBase(model: settings.model, template: settings.template, maxPromptTokens: settings.maxPromptTokens,
                                         maxResponseTokens: settings.maxResponseTokens)
            guard base.url.standardizedFileURL == rewardBase.url.standardizedFileURL else {
                throw AlignmentSetupError.rewardBaseMismatch(rewardBase: rewardBase.url.lastPathComponent,
                                                             policyBase: base.url.lastPathComponent)
            }
            let prompts = try base.prompts(path: settings.data)
            let policy = try base.alignmentModel(lora: settings.lora, seed: settings.seed)
            let task = try GRPOTask(model: policy, tokenizer: base.tokenizer, prompts: prompts, reward: reward, settings: GRPOSettings(
                groupSize: groupSize, promptsPerStep: settings.batchSize, maxResponseTokens: settings.maxResponseTokens,
                temperature: temperature, beta: klBeta, optimization: settings.optimization, seed: settings.seed))
            return AlignmentRun(method: method, settings: settings, base: base, task: task, train: [], validation: [],
                                prompts: prompts, policy: policy, rewardModel: nil)
        }
    }

    /// Writes the result into the run folder `out`: `adapter/` (PEFT; DPO and RLHF) or `reward/`
    /// (`reward_model.safetensors` + `reward_model.json`). Returns the folder written.
    @discardableResult
    public func saveResult(in out: URL) throws -> URL {
        if let rewardModel {
            let folder = out.appendingPathComponent(RewardModelRecord.folderName)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try rewardModel.save(to: folder.appendingPathComponent(RewardModelTask.weightsFile))
            let record = RewardModelRecord(base_model: base.url.path, template: base.templateName, rank: settings.lora.rank,
                                           alpha: settings.lora.alpha, targets: settings.lora.targets.map(\.rawValue),
                                           max_prompt_tokens: settings.maxPromptTokens, max_response_tokens: settings.maxResponseTokens)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(record).write(to: folder.appendingPathComponent(RewardModelRecord.fileName), options: .atomic)
            return folder
        }
        let adapter = out.appendingPathComponent("adapter")
        try policy.trainable.peftAdapter(baseModel: base.url.lastPathComponent)?.save(to: adapter)
        return adapter
    }
}
