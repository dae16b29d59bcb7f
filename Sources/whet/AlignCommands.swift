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
    @Option(help: "Chat template: auto (the model's own Jinja template, else by architecture), jinja, gemma, chatml, llama3, none.")
    var template: String = "auto"
    @Option(name: .customLong("max-prompt-tokens"), help: "Longest prompt kept (longer ones keep their end).")
    var maxPromptTokens: Int = 128
    @Option(name: .customLong("max-response-tokens"), help: "Longest response kept (RLHF: most tokens sampled).")
    var maxResponseTokens: Int = 64
}

enum AlignDriver {
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

    /// The library's settings from the shared flags (LoRA dropout is forced to 0 there: DPO and GRPO
    /// compare the policy's log-probs with the reference's, which dropout would blur).
    static func settings(model: String, _ data: AlignmentDataOptions, _ lora: LoRAOptions,
                         _ options: TrainRunOptions) throws -> AlignmentRunSettings {
        AlignmentRunSettings(model: model, data: data.data, validationFraction: data.validationFraction, template: data.template,
                             maxPromptTokens: data.maxPromptTokens, maxResponseTokens: data.maxResponseTokens,
                             lora: try lora.configuration(), steps: options.steps, batchSize: options.batchSize,
                             optimization: try schedule(options), evaluateEvery: options.validateEvery, seed: options.seed)
    }

    /// Runs a prepared alignment run under the shared driver (run.json, --resume check, progress).
    static func run(_ run: AlignmentRun, record: RunRecord, options: TrainRunOptions) throws -> (RunSummary, StepMetrics?) {
        let (summary, last, _) = try TrainRunDriver.execute(
            method: run.method.name, record: record, task: run.task, options: options,
            describe: "\(run.dataDescription), \(run.trainableParameterCount) trainable parameters", headline: run.method.headline)
        return (summary, last)
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
                let run = try AlignmentRun.prepare(.dpo(beta: beta, variant: variant),
                                                   try AlignDriver.settings(model: model, data, lora, options))
                guard let task = run.dpoTask else { throw CommandFailure("internal: the DPO run has no DPO task") }
                let (train, validation) = (run.train, run.validation)
                let record = RunRecord(method: "dpo", model: run.base.url.path, data: data.data,
                                       arguments: AlignDriver.arguments(data, lora, options, extra: ["beta": "\(beta)", "loss": loss]))
                let (summary, last) = try AlignDriver.run(run, record: record, options: options)
                let adapter = try run.saveResult(in: options.outURL)
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
                let run = try AlignmentRun.prepare(.reward, try AlignDriver.settings(model: model, data, lora, options))
                guard let task = run.rewardTask else { throw CommandFailure("internal: the reward run has no reward-model task") }
                let (train, validation) = (run.train, run.validation)
                let record = RunRecord(method: "reward", model: run.base.url.path, data: data.data,
                                       arguments: AlignDriver.arguments(data, lora, options, extra: [:]))
                let (summary, _) = try AlignDriver.run(run, record: record, options: options)
                let folder = try run.saveResult(in: options.outURL)
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
                let run = try AlignmentRun.prepare(.rlhf(rewardModel: reward, groupSize: groupSize, klBeta: klBeta, temperature: temperature),
                                                   try AlignDriver.settings(model: model, data, lora, options))
                guard let task = run.grpoTask else { throw CommandFailure("internal: the RLHF run has no GRPO task") }
                let (base, prompts) = (run.base, run.prompts)
                let record = RunRecord(method: "rlhf", model: base.url.path, data: data.data, arguments: AlignDriver.arguments(
                    data, lora, options, extra: ["reward": reward, "group_size": "\(groupSize)", "kl_beta": "\(klBeta)",
                                                 "temperature": "\(temperature)"]))
                let (summary, last) = try AlignDriver.run(run, record: record, options: options)
                let adapter = try run.saveResult(in: options.outURL)
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
