import ArgumentParser
import Engine
import Foundation
import Training

/// `whet train dpo|reward|rlhf` and `whet score`: preference alignment of a Gemma 3 GGUF with LoRA.

struct AlignmentDataOptions: ParsableArguments {
    @Option(help: "Preference data: JSONL with {\"prompt\", \"chosen\", \"rejected\"} per line (for rlhf: their prompts, or {\"prompt\", \"completion\"} records).")
    var data: String
    @Option(name: .customLong("val-fraction"), help: "Fraction of --data held out (reported as validation).")
    var validationFraction: Double = 0
    @Option(help: "Chat template: auto (from the model), gemma, chatml, llama3, none.")
    var template: String = "auto"
    @Option(name: .customLong("max-prompt-tokens"), help: "Longest prompt kept (longer ones keep their end).")
    var maxPromptTokens: Int = 128
    @Option(name: .customLong("max-response-tokens"), help: "Longest response kept (RLHF: most tokens sampled).")
    var maxResponseTokens: Int = 64
}

/// A Gemma 3 GGUF opened for alignment: the trainable LoRA model, its tokenizer and the prompt format.
struct AlignmentBase {
    let url: URL
    let gemma: Gemma3Model
    let tokenizer: SentencePieceTokenizer
    let format: ConversationFormat
    let templateName: String

    init(model: String, data: AlignmentDataOptions) throws {
        try self.init(model: model, template: data.template, maxPromptTokens: data.maxPromptTokens,
                      maxResponseTokens: data.maxResponseTokens)
    }

    init(model: String, template templateOption: String, maxPromptTokens: Int, maxResponseTokens: Int) throws {
        url = try ModelLocator.locate(model)
        let file = try GGUFFile(path: url.path)
        gemma = try Gemma3Model(file: file)
        tokenizer = try SentencePieceTokenizer(gguf: file)
        let template = try ChatTemplate.resolve(templateOption, architecture: file.metadata.architecture,
                                                embeddedTemplate: file.metadata.string("tokenizer.chat_template"))
        templateName = template.kind.rawValue
        guard maxPromptTokens >= 2, maxResponseTokens >= 1 else {
            throw CommandFailure("--max-prompt-tokens must be at least 2 and --max-response-tokens at least 1")
        }
        format = try ConversationFormat.chat(tokenizer: tokenizer, template: template, maxPromptTokens: maxPromptTokens,
                                             maxResponseTokens: maxResponseTokens)
    }

    func alignmentModel(lora: LoRAConfiguration, seed: UInt64) throws -> Gemma3AlignmentModel {
        try Gemma3AlignmentModel(trainable: Gemma3TrainableModel(model: gemma, lora: lora, seed: seed))
    }

    /// Training and held-out preference pairs.
    func preferences(_ data: AlignmentDataOptions, seed: UInt64) throws -> (train: [EncodedPreference], validation: [EncodedPreference]) {
        guard (0..<1).contains(data.validationFraction) else { throw CommandFailure("--val-fraction must be in [0, 1)") }
        let dataset = try Dataset.load(path: (data.data as NSString).expandingTildeInPath)
        try dataset.requireKind([.preference])
        let (train, validation) = dataset.split(validationFraction: data.validationFraction, seed: seed)
        return (try train.map(format.encode), try validation.map(format.encode))
    }
}

/// What `OUT/reward/reward_model.json` says about a trained reward model, so `score` and `rlhf` can rebuild it.
struct RewardModelRecord: Codable {
    var base_model: String
    var template: String
    var rank: Int
    var alpha: Float
    var targets: [String]
    var max_prompt_tokens: Int
    var max_response_tokens: Int

    static let fileName = "reward_model.json"

    func configuration() throws -> LoRAConfiguration {
        let c = LoRAConfiguration(rank: rank, alpha: alpha, dropout: 0, targets: try LoRATarget.parseList(targets.joined(separator: ",")))
        try c.validate()
        return c
    }

    /// Opens the base and the trained reward model saved in `folder`.
    static func open(_ folder: URL, model override: String?) throws -> (AlignmentBase, ScalarRewardModel) {
        let recordURL = folder.appendingPathComponent(fileName)
        guard let bytes = FileManager.default.contents(atPath: recordURL.path),
              let record = try? JSONDecoder().decode(RewardModelRecord.self, from: bytes) else {
            throw CommandFailure("\(recordURL.path) is missing or unreadable; pass the reward/ folder of a `whet train reward` run")
        }
        let base = try AlignmentBase(model: override ?? record.base_model, template: record.template,
                                     maxPromptTokens: record.max_prompt_tokens, maxResponseTokens: record.max_response_tokens)
        let backbone = try base.alignmentModel(lora: try record.configuration(), seed: 0)
        let reward = ScalarRewardModel(backbone: backbone, seed: 0)
        try reward.load(from: folder.appendingPathComponent(RewardModelTask.weightsFile))
        return (base, reward)
    }
}

enum AlignDriver {
    /// Runs an alignment task under the shared runner with progress on stderr; returns the summary
    /// and the last step's figures.
    static func run(method: String, record: RunRecord, task: any TrainableTask, trainableCount: Int, options: TrainRunOptions,
                    describe: String, headline: [String]) throws -> (RunSummary, StepMetrics?) {
        let (summary, last, _) = try TrainRunDriver.execute(method: method, record: record, task: task, options: options,
                                                            describe: "\(describe), \(trainableCount) trainable parameters",
                                                            headline: headline)
        return (summary, last)
    }

    static func schedule(_ options: TrainRunOptions) throws -> AlignmentOptimization {
        guard options.steps > 0, options.batchSize > 0 else { throw CommandFailure("--steps and --batch-size must be positive") }
        let schedule: LearningRateSchedule
        switch options.schedule {
        case "constant": schedule = .constant(options.lr)
        case "cosine": schedule = .warmupCosine(peak: options.lr, warmupSteps: options.warmupSteps, totalSteps: options.steps,
                                                minimum: options.minimumLR)
        default: throw CommandFailure("--schedule must be constant or cosine, not '\(options.schedule)'")
        }
        return AlignmentOptimization(schedule: schedule, maxGradNorm: options.maxGradNorm > 0 ? options.maxGradNorm : nil,
                                     adamW: AdamWSettings(weightDecay: options.weightDecay))
    }

    static func arguments(_ data: AlignmentDataOptions, _ lora: LoRAOptions, _ options: TrainRunOptions,
                          extra: [String: String]) -> [String: String] {
        var a = ["val_fraction": "\(data.validationFraction)", "template": data.template,
                 "max_prompt_tokens": "\(data.maxPromptTokens)", "max_response_tokens": "\(data.maxResponseTokens)",
                 "rank": "\(lora.rank)", "alpha": "\(lora.alpha)", "targets": lora.targets, "steps": "\(options.steps)",
                 "batch_size": "\(options.batchSize)", "lr": "\(options.lr)", "schedule": options.schedule,
                 "warmup_steps": "\(options.warmupSteps)", "min_lr": "\(options.minimumLR)", "weight_decay": "\(options.weightDecay)",
                 "max_grad_norm": "\(options.maxGradNorm)", "seed": "\(options.seed)"]
        a.merge(extra) { $1 }
        return a
    }

    /// LoRA without dropout: DPO and GRPO compare the policy's log-probs with the reference's, which
    /// dropout would blur.
    static func lora(_ options: LoRAOptions) throws -> LoRAConfiguration {
        var c = try options.configuration()
        c.dropout = 0
        return c
    }
}

extension TrainCommand {
    struct DPO: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dpo",
            abstract: "Direct Preference Optimisation (or IPO) of LoRA adapters on a Gemma 3 GGUF.",
            discussion: """
            The reference model is the same base with the adapters switched off (no second copy in \
            memory). --batch-size is the number of preference pairs per step. Each metrics.jsonl line \
            holds TRL's figures in "extra": rewards/chosen, rewards/rejected, rewards/margins, \
            rewards/accuracies, logps/chosen, logps/rejected. The adapters go to OUT/adapter/ (PEFT); \
            the summary reports the figures on all training pairs after the run.
            """
        )
        @Option(help: "Base model: a Gemma 3 .gguf file or the name of an installed model.")
        var model: String = ModelLocator.defaultModelName
        @Option(help: "DPO beta (strength of the implicit KL constraint).")
        var beta: Double = 0.1
        @Option(help: "sigmoid (DPO) or ipo.")
        var loss: String = "sigmoid"
        @OptionGroup var data: AlignmentDataOptions
        @OptionGroup var lora: LoRAOptions
        @OptionGroup var options: TrainRunOptions

        struct Output: Encodable {
            let method: String, out: String, adapter: String, steps: Int, final_loss: Double, elapsed_s: Double
            let train_pairs: Int, validation_pairs: Int, val_loss: Double?
            let last_step: [String: Double]
            /// Figures on every training pair with the final adapters.
            let train_eval: [String: Double]
        }

        func run() throws {
            try reportingErrors {
                guard let variant = DPOLoss.Variant(rawValue: loss) else { throw CommandFailure("--loss must be sigmoid or ipo, not '\(loss)'") }
                let base = try AlignmentBase(model: model, data: data)
                let (train, validation) = try base.preferences(data, seed: options.seed)
                let policy = try base.alignmentModel(lora: try AlignDriver.lora(lora), seed: options.seed)
                let settings = DPOSettings(beta: beta, variant: variant, pairsPerStep: options.batchSize,
                                           optimization: try AlignDriver.schedule(options), seed: options.seed)
                let task = try DPOTask(model: policy, train: train, validation: validation, settings: settings)
                let record = RunRecord(method: "dpo", model: base.url.path, data: data.data,
                                       arguments: AlignDriver.arguments(data, lora, options, extra: ["beta": "\(beta)", "loss": loss]))
                let (summary, last) = try AlignDriver.run(
                    method: "dpo", record: record, task: task, trainableCount: policy.trainableParameters.reduce(0) { $0 + $1.value.count },
                    options: options, describe: "\(train.count) training pairs, \(validation.count) held out",
                    headline: ["rewards/accuracies", "rewards/margins"])
                let adapter = options.outURL.appendingPathComponent("adapter")
                try policy.trainable.peftAdapter(baseModel: base.url.lastPathComponent)?.save(to: adapter)
                CommandOutput.progress("dpo: evaluating the final adapters on the \(train.count) training pairs")
                let final = try task.evaluate(train)
                var trainEval = final.metrics
                trainEval["loss"] = final.loss
                let output = Output(method: "dpo", out: options.outURL.path, adapter: adapter.path, steps: summary.steps,
                                    final_loss: summary.finalLoss, elapsed_s: summary.elapsedSeconds, train_pairs: train.count,
                                    validation_pairs: validation.count, val_loss: last?.validationLoss,
                                    last_step: last?.extra ?? [:], train_eval: trainEval)
                if options.output.json { try CommandOutput.printJSON(output) } else {
                    print(String(format: "dpo: %d steps, final loss %.4f; on the training pairs: loss %.4f, accuracy %.3f, margin %.4f",
                                 summary.steps, summary.finalLoss, final.loss, trainEval["rewards/accuracies"] ?? .nan,
                                 trainEval["rewards/margins"] ?? .nan))
                    print("adapter: \(adapter.path)")
                    print("metrics: \(options.outURL.appendingPathComponent("metrics.jsonl").path)")
                }
            }
        }
    }

    struct Reward: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reward",
            abstract: "Train a reward model (Gemma 3 + LoRA + a scalar head) with the Bradley–Terry loss.",
            discussion: """
            The reward is the final hidden state at the last token of prompt + response through a \
            head score.weight [1, hidden]. --batch-size is pairs per step; --val-fraction holds pairs \
            out and reports their accuracy (eval/accuracy). The model goes to OUT/reward/ \
            (reward_model.safetensors: LoRA + head; reward_model.json: base and settings), which \
            `whet score --reward` and `whet train rlhf --reward` read.
            """
        )
        @Option(help: "Base model: a Gemma 3 .gguf file or the name of an installed model.")
        var model: String = ModelLocator.defaultModelName
        @OptionGroup var data: AlignmentDataOptions
        @OptionGroup var lora: LoRAOptions
        @OptionGroup var options: TrainRunOptions

        struct Output: Encodable {
            let method: String, out: String, reward_model: String, steps: Int, final_loss: Double, elapsed_s: Double
            let train_pairs: Int, validation_pairs: Int
            let train_accuracy: Double, train_loss: Double
            let validation_accuracy: Double?, validation_loss: Double?
        }

        func run() throws {
            try reportingErrors {
                let base = try AlignmentBase(model: model, data: data)
                let (train, validation) = try base.preferences(data, seed: options.seed)
                let configuration = try AlignDriver.lora(lora)
                let reward = ScalarRewardModel(backbone: try base.alignmentModel(lora: configuration, seed: options.seed), seed: options.seed)
                let settings = RewardModelSettings(pairsPerStep: options.batchSize, optimization: try AlignDriver.schedule(options),
                                                   evaluateEvery: options.validateEvery, totalSteps: options.steps, seed: options.seed)
                let task = try RewardModelTask(rewardModel: reward, train: train, validation: validation, settings: settings)
                let record = RunRecord(method: "reward", model: base.url.path, data: data.data,
                                       arguments: AlignDriver.arguments(data, lora, options, extra: [:]))
                let (summary, _) = try AlignDriver.run(
                    method: "reward", record: record, task: task, trainableCount: reward.trainableParameters.reduce(0) { $0 + $1.value.count },
                    options: options, describe: "\(train.count) training pairs, \(validation.count) held out",
                    headline: ["accuracy", "margin", "eval/accuracy"])
                let folder = options.outURL.appendingPathComponent("reward")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try reward.save(to: folder.appendingPathComponent(RewardModelTask.weightsFile))
                let saved = RewardModelRecord(base_model: base.url.path, template: base.templateName, rank: configuration.rank,
                                              alpha: configuration.alpha, targets: configuration.targets.map(\.rawValue),
                                              max_prompt_tokens: data.maxPromptTokens, max_response_tokens: data.maxResponseTokens)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(saved).write(to: folder.appendingPathComponent(RewardModelRecord.fileName), options: .atomic)
                let onTrain = try task.evaluate(train)
                let held = validation.isEmpty ? nil : try task.evaluate(validation)
                let output = Output(method: "reward", out: options.outURL.path, reward_model: folder.path, steps: summary.steps,
                                    final_loss: summary.finalLoss, elapsed_s: summary.elapsedSeconds, train_pairs: train.count,
                                    validation_pairs: validation.count, train_accuracy: onTrain.accuracy, train_loss: onTrain.loss,
                                    validation_accuracy: held?.accuracy, validation_loss: held?.loss)
                if options.output.json { try CommandOutput.printJSON(output) } else {
                    var line = String(format: "reward: %d steps; training pairs: accuracy %.3f, loss %.4f", summary.steps,
                                      onTrain.accuracy, onTrain.loss)
                    if let held { line += String(format: "; held out: accuracy %.3f, loss %.4f", held.accuracy, held.loss) }
                    print(line)
                    print("reward model: \(folder.path)")
                }
            }
        }
    }

    struct RLHF: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rlhf",
            abstract: "RLHF with GRPO: LoRA adapters on a Gemma 3 GGUF optimised against a reward model, with a KL penalty.",
            discussion: """
            Each step samples --group-size responses per prompt from the current policy (through the \
            generation session, temperature 1), scores them with the reward model of `whet train \
            reward` (--reward OUT/reward), and takes a policy-gradient step on the group-normalised \
            rewards with a per-token KL penalty (--kl-beta) to the reference (the base with the \
            adapters off). --batch-size is prompts per step. Logs reward, reward_std, kl, \
            completions/mean_length and loss per step; the adapters go to OUT/adapter/.
            """
        )
        @Option(help: "Base model: a Gemma 3 .gguf file or the name of an installed model.")
        var model: String = ModelLocator.defaultModelName
        @Option(help: "A reward model folder (OUT/reward of `whet train reward`).")
        var reward: String
        @Option(name: .customLong("group-size"), help: "Responses sampled per prompt.")
        var groupSize: Int = 4
        @Option(name: .customLong("kl-beta"), help: "Weight of the KL penalty to the reference.")
        var klBeta: Double = 0.04
        @Option(help: "Sampling temperature.")
        var temperature: Float = 1
        @OptionGroup var data: AlignmentDataOptions
        @OptionGroup var lora: LoRAOptions
        @OptionGroup var options: TrainRunOptions

        struct Output: Encodable {
            let method: String, out: String, adapter: String, steps: Int, final_loss: Double, elapsed_s: Double, prompts: Int
            let last_step: [String: Double]
            let samples: [Sample]
        }
        struct Sample: Encodable { let prompt: String; let response: String }

        func run() throws {
            try reportingErrors {
                let (rewardBase, rewardModel) = try RewardModelRecord.open(URL(fileURLWithPath: (reward as NSString).expandingTildeInPath),
                                                                           model: nil)
                let base = try AlignmentBase(model: model, data: data)
                guard base.url.standardizedFileURL == rewardBase.url.standardizedFileURL else {
                    throw CommandFailure("the reward model was trained on \(rewardBase.url.lastPathComponent), the policy is \(base.url.lastPathComponent); use the same base model")
                }
                let dataset = try Dataset.load(path: (data.data as NSString).expandingTildeInPath)
                try dataset.requireKind([.preference, .promptCompletion])
                var texts: [String] = []
                for e in dataset.examples {
                    switch e.record {
                    case let .preference(prompt, _, _), let .promptCompletion(prompt, _): if !texts.contains(prompt) { texts.append(prompt) }
                    default: break
                    }
                }
                let prompts = try texts.map(base.format.promptTokens)
                let policy = try base.alignmentModel(lora: try AlignDriver.lora(lora), seed: options.seed)
                let settings = GRPOSettings(groupSize: groupSize, promptsPerStep: options.batchSize, maxResponseTokens: data.maxResponseTokens,
                                            temperature: temperature, beta: klBeta, optimization: try AlignDriver.schedule(options),
                                            seed: options.seed)
                let task = try GRPOTask(model: policy, tokenizer: base.tokenizer, prompts: prompts, reward: rewardModel, settings: settings)
                let record = RunRecord(method: "rlhf", model: base.url.path, data: data.data, arguments: AlignDriver.arguments(
                    data, lora, options, extra: ["reward": reward, "group_size": "\(groupSize)", "kl_beta": "\(klBeta)",
                                                 "temperature": "\(temperature)"]))
                let (summary, last) = try AlignDriver.run(
                    method: "rlhf", record: record, task: task, trainableCount: policy.trainableParameters.reduce(0) { $0 + $1.value.count },
                    options: options, describe: "\(prompts.count) prompts, \(groupSize) samples each",
                    headline: ["reward", "reward_std", "kl", "completions/mean_length"])
                let adapter = options.outURL.appendingPathComponent("adapter")
                try policy.trainable.peftAdapter(baseModel: base.url.lastPathComponent)?.save(to: adapter)
                let samples = task.lastSamples.prefix(4).map {
                    Sample(prompt: base.tokenizer.decode($0.prompt.map { Int32($0) }), response: base.format.text(ofResponse: $0.response))
                }
                let output = Output(method: "rlhf", out: options.outURL.path, adapter: adapter.path, steps: summary.steps,
                                    final_loss: summary.finalLoss, elapsed_s: summary.elapsedSeconds, prompts: prompts.count,
                                    last_step: last?.extra ?? [:], samples: Array(samples))
                if options.output.json { try CommandOutput.printJSON(output) } else {
                    print(String(format: "rlhf: %d steps; last step reward %.4f, kl %.4f", summary.steps,
                                 last?.extra["reward"] ?? .nan, last?.extra["kl"] ?? .nan))
                    print("adapter: \(adapter.path)")
                    print("metrics: \(options.outURL.appendingPathComponent("metrics.jsonl").path)")
                }
            }
        }
    }
}

/// `whet score`: rewards of prompt/response pairs from a trained reward model.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Print a reward model's scores for prompt/response pairs.",
        discussion: """
        Give one --prompt with one or more --response, or --data with JSONL records \
        {"prompt", "response"} / {"prompt", "completion"} / {"prompt", "chosen", "rejected"} (both sides \
        scored). → {"scores": [{"prompt", "response", "reward"}]}
        """
    )
    @Option(help: "A reward model folder (OUT/reward of `whet train reward`).")
    var reward: String
    @Option(help: "Base model instead of the one recorded with the reward model.")
    var model: String?
    @Option(help: "The prompt.")
    var prompt: String?
    @Option(help: "A response to score (repeatable).")
    var response: [String] = []
    @Option(help: "JSONL of prompt/response pairs.")
    var data: String?
    @OptionGroup var output: OutputOptions

    struct Scored: Encodable { let prompt: String; let response: String; let reward: Double }
    struct Output: Encodable { let scores: [Scored] }

    func run() throws {
        try reportingErrors {
            var pairs: [(String, String)] = []
            if let prompt {
                guard !response.isEmpty else { throw CommandFailure("--prompt needs at least one --response") }
                pairs = response.map { (prompt, $0) }
            }
            if let data {
                let path = (data as NSString).expandingTildeInPath
                guard let bytes = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
                for (i, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                          let p = object["prompt"] as? String else {
                        throw CommandFailure("\(path):\(i + 1): expected a JSON object with a string \"prompt\"")
                    }
                    let responses = ["response", "completion", "chosen", "rejected"].compactMap { object[$0] as? String }
                    guard !responses.isEmpty else { throw CommandFailure("\(path):\(i + 1): no \"response\", \"completion\", \"chosen\" or \"rejected\"") }
                    pairs += responses.map { (p, $0) }
                }
            }
            guard !pairs.isEmpty else { throw CommandFailure("give --prompt with --response, or --data") }
            let (base, rewardModel) = try RewardModelRecord.open(URL(fileURLWithPath: (reward as NSString).expandingTildeInPath), model: model)
            var scores: [Scored] = []
            for (p, r) in pairs {
                let item = PromptResponse(prompt: try base.format.promptTokens(p), response: try base.format.responseTokens(r))
                scores.append(Scored(prompt: p, response: r, reward: try rewardModel.rewards(for: [item])[0]))
            }
            if output.json { try CommandOutput.printJSON(Output(scores: scores)) } else {
                for s in scores { print(String(format: "%8.4f  %@ → %@", s.reward, s.prompt, s.response)) }
            }
        }
    }
}
