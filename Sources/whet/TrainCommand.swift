import Synchronization
import ArgumentParser
import Engine
import Foundation
import Training

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `whet train lora|qlora|sft|pretrain`: causal-LM training runs with metrics, checkpoints and resume.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune (LoRA / QLoRA / full SFT) or pretrain a language model.",
        discussion: """
        Every run writes OUT/metrics.jsonl (one JSON line per step: loss, val_loss, lr, grad_norm, \
        tokens_per_second, elapsed_s, eta_s), OUT/run.json (the settings) and checkpoints in \
        OUT/checkpoints/step-N/ (written atomically: trainable weights and AdamW state). --resume \
        continues from the newest checkpoint with the same settings and repeats the loss curve of an \
        uninterrupted run. Progress and ETA go to stderr; --json prints one summary object.
        """,
        subcommands: [LoRA.self, QLoRA.self, SFT.self, Pretrain.self, DPO.self, Reward.self, RLHF.self]
    )
}

// MARK: shared options

struct TrainDataOptions: ParsableArguments {
    @Option(help: "Training data: JSONL ({\"messages\"}, {\"prompt\",\"completion\"}, {\"instruction\",\"output\"}, {\"text\"}) or, for pretrain, a plain-text file (paragraphs separated by blank lines).")
    var data: String
    @Option(name: .customLong("val-data"), help: "Validation data in the same layout (default: --val-fraction of --data).")
    var validationData: String?
    @Option(name: .customLong("val-fraction"), help: "Fraction of --data held out for validation when --val-data is not given.")
    var validationFraction: Double = 0.1
    @Option(name: .customLong("seq-len"), help: "Tokens per training row.")
    var sequenceLength: Int = 128
    @Option(help: "pad: one example per row, padded; pack: examples concatenated and cut into full rows.")
    var layout: SequenceLayout = .pad
    @Option(help: "Chat template for prompt/completion and messages records: auto (the model's own, else by architecture), jinja, gemma, chatml, llama3, none.")
    var template: String = "auto"
    @Option(name: .customLong("train-on"), help: "completion: loss only on completion / assistant tokens; all: on every token.")
    var trainOn: String = "completion"
}

struct TrainRunOptions: ParsableArguments {
    @Option(help: "Output folder of the run.")
    var out: String
    @Option(help: "Optimizer steps.")
    var steps: Int = 100
    @Option(name: .customLong("batch-size"), help: "Sequences per micro-batch.")
    var batchSize: Int = 4
    @Option(name: .customLong("grad-accum"), help: "Micro-batches per optimizer step.")
    var gradientAccumulation: Int = 1
    @Option(help: "Peak learning rate.")
    var lr: Double = 2e-4
    @Option(help: "constant or cosine (linear warm-up, cosine decay to --min-lr).")
    var schedule: String = "constant"
    @Option(name: .customLong("warmup-steps"), help: "Warm-up steps of the cosine schedule.")
    var warmupSteps: Int = 0
    @Option(name: .customLong("min-lr"), help: "Final learning rate of the cosine schedule.")
    var minimumLR: Double = 0
    @Option(name: .customLong("weight-decay"), help: "AdamW decoupled weight decay (matrices only).")
    var weightDecay: Double = 0
    @Option(name: .customLong("max-grad-norm"), help: "Clip the global gradient norm to this; 0 = no clipping.")
    var maxGradNorm: Double = 1
    @Option(help: "Seed of the data order, dropout masks and initialisation.")
    var seed: UInt64 = 42
    @Option(name: .customLong("val-every"), help: "Validation loss every N steps (and at the end); 0 = only at the end.")
    var validateEvery: Int = 10
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps (and at the end); 0 = only at the end.")
    var checkpointEvery: Int = 25
    @Option(name: .customLong("keep-checkpoints"), help: "Checkpoints kept on disk.")
    var keepCheckpoints: Int = 2
    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?
    @Flag(help: "Continue from the newest checkpoint in --out (same settings).")
    var resume = false
    @OptionGroup var output: OutputOptions

    var outURL: URL { URL(fileURLWithPath: (out as NSString).expandingTildeInPath, isDirectory: true) }

    func trainingSettings() throws -> LanguageModelTrainingSettings {
        guard steps > 0, batchSize > 0, gradientAccumulation > 0 else {
            throw CommandFailure("--steps, --batch-size and --grad-accum must be positive")
        }
        let lrSchedule: LearningRateSchedule
        switch schedule {
        case "constant": lrSchedule = .constant(lr)
        case "cosine": lrSchedule = .warmupCosine(peak: lr, warmupSteps: warmupSteps, totalSteps: steps, minimum: minimumLR)
        default: throw CommandFailure("--schedule must be constant or cosine, not '\(schedule)'")
        }
        return LanguageModelTrainingSettings(batchSize: batchSize, accumulationSteps: gradientAccumulation, schedule: lrSchedule,
                                             maxGradNorm: maxGradNorm > 0 ? maxGradNorm : nil,
                                             adamW: AdamWSettings(weightDecay: weightDecay), seed: seed)
    }
}

extension SequenceLayout: ExpressibleByArgument {}

struct LoRAOptions: ParsableArguments {
    @Option(help: "LoRA rank r.")
    var rank: Int = 8
    @Option(help: "LoRA alpha (the update is scaled by alpha / r).")
    var alpha: Float = 16
    @Option(help: "Dropout on the adapter input while training.")
    var dropout: Float = 0.05
    @Option(help: "Adapted projections: some of q,k,v,o,gate,up,down, or all.")
    var targets: String = "q,k,v,o"

    func configuration() throws -> LoRAConfiguration {
        let config = LoRAConfiguration(rank: rank, alpha: alpha, dropout: dropout, targets: try LoRATarget.parseList(targets))
        try config.validate()
        return config
    }
}

// MARK: the loop shared by every method

enum TrainDriver {
    struct Summary: Encodable {
        let method: String
        let out: String
        let steps: Int
        let final_loss: Double
        let best_val_loss: Double?
        let final_val_loss: Double?
        let elapsed_s: Double
        let tokens_per_second: Double
        let resumed: Bool
        let trainable_parameters: Int
        let train_rows: Int
        let validation_rows: Int
        let adapter: String?
        let model: String?
    }

    /// Splits or loads the data and turns it into rows.
    static func rows(data: TrainDataOptions, formatting: SFTFormatting, tokenizer: any TextTokenizer, padToken: Int,
                     seed: UInt64, plainText: Bool) throws -> (train: [TrainingRow], validation: [TrainingRow]) {
        func load(_ path: String) throws -> Dataset {
            let expanded = (path as NSString).expandingTildeInPath
            if plainText && !expanded.hasSuffix(".jsonl") {
                guard let bytes = FileManager.default.contents(atPath: expanded) else {
                    throw CommandFailure("cannot read \(expanded); pass a readable text file with --data")
                }
                let text = String(decoding: bytes, as: UTF8.self)
                let paragraphs = text.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                    .filter { !$0.isEmpty }
                guard !paragraphs.isEmpty else { throw CommandFailure("\(expanded) holds no text") }
                return Dataset(path: expanded, examples: paragraphs.enumerated().map {
                    DatasetExample(record: .text($0.element), line: $0.offset + 1)
                })
            }
            let dataset = try Dataset.load(path: expanded)
            try dataset.requireKind([.text, .promptCompletion, .conversation, .instruction])
            return dataset
        }
        guard (0..<1).contains(data.validationFraction) else { throw CommandFailure("--val-fraction must be in [0, 1)") }
        guard data.sequenceLength >= 2 else { throw CommandFailure("--seq-len must be at least 2") }
        let primary = try load(data.data)
        let train: [DatasetExample], validation: [DatasetExample]
        if let v = data.validationData {
            train = primary.examples
            validation = try load(v).examples
        } else {
            (train, validation) = primary.split(validationFraction: data.validationFraction, seed: seed)
        }
        func tokenized(_ examples: [DatasetExample]) throws -> [TrainingRow] {
            let t = try examples.map { try formatting.tokenize($0.record, with: tokenizer) }
            return data.layout.rows(t, length: data.sequenceLength, padToken: padToken)
        }
        return (try tokenized(train), try tokenized(validation))
    }

    static func formatting(data: TrainDataOptions, template: ChatTemplate, endOfSequence: Int?) throws -> SFTFormatting {
        guard ["completion", "all"].contains(data.trainOn) else {
            throw CommandFailure("--train-on must be completion or all, not '\(data.trainOn)'")
        }
        return SFTFormatting(template: template, completionOnly: data.trainOn == "completion", endOfSequence: endOfSequence)
    }

    /// Runs the task with a progress line on stderr and writes the summary.
    static func run(method: String, record: RunRecord, task: LanguageModelTask, options: TrainRunOptions,
                    trainRows: Int, validationRows: Int, finish: () throws -> (adapter: String?, model: String?)) throws {
        let trainable = task.model.trainableParameters.reduce(0) { $0 + $1.value.count }
        let (summary, last, lastValidation) = try TrainRunDriver.execute(
            method: method, record: record, task: task, options: options,
            describe: "\(trainRows) training rows, \(validationRows) validation rows, \(trainable) trainable parameters")
        let lastThroughput = last?.tokensPerSecond ?? 0
        let folder = options.outURL
        let outputs = try finish()
        let result = Summary(method: method, out: folder.path, steps: summary.steps, final_loss: summary.finalLoss,
                             best_val_loss: summary.bestValidationLoss, final_val_loss: lastValidation,
                             elapsed_s: summary.elapsedSeconds, tokens_per_second: lastThroughput, resumed: options.resume,
                             trainable_parameters: trainable,
                             train_rows: trainRows, validation_rows: validationRows, adapter: outputs.adapter, model: outputs.model)
        if options.output.json {
            try CommandOutput.printJSON(result)
        } else {
            var line = String(format: "%@: %d steps, final loss %.4f", method, summary.steps, summary.finalLoss)
            if let v = lastValidation { line += String(format: ", validation loss %.4f", v) }
            line += String(format: ", %.1f tokens/s, %.0f s", lastThroughput, summary.elapsedSeconds)
            print(line)
            if let a = outputs.adapter { print("adapter: \(a)") }
            if let m = outputs.model { print("model: \(m)") }
            print("metrics: \(folder.appendingPathComponent("metrics.jsonl").path)")
        }
    }
}

/// The part every `whet train` method shares: --threads, OUT/run.json (written at the start, compared
/// on --resume so a resumed run cannot silently change its settings), the runner and the progress line.
enum TrainRunDriver {
    static func execute(method: String, record: RunRecord, task: any TrainableTask, options: TrainRunOptions,
                        describe: String, headline: [String] = []) throws -> (RunSummary, StepMetrics?, Double?) {
        if let threads = options.threads {
            guard threads > 0 else { throw CommandFailure("--threads must be at least 1") }
            Parallel.limitLanes(to: threads)
        }
        let folder = options.outURL
        if options.resume { try record.checkResume(in: folder) }
        // Written on resume too: it keeps the new step count for the next --resume.
        try record.write(to: folder)
        let settings = RunSettings(totalSteps: options.steps, checkpointEvery: options.checkpointEvery,
                                   validateEvery: options.validateEvery, keepCheckpoints: max(1, options.keepCheckpoints))
        let runner = TrainingRunner(task: task, folder: folder, settings: settings)
        let progress = ProgressLine("step")
        var lastValidation: Double?
        var last: StepMetrics?
        var stoppedAt: Int?
        let summary: RunSummary?
        // Ctrl-C stops after the current step with a checkpoint of it (the runner writes one when
        // cancelled), so nothing trained is lost; a second Ctrl-C quits at once.
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let interrupted = Mutex(false)
        interrupt.setEventHandler {
            let again = interrupted.withLock { seen in defer { seen = true }; return seen }
            if again {
                FileHandle.standardError.write(Data("\n".utf8))
                Foundation.exit(130)
            }
            CommandOutput.progress("\nCtrl-C: stopping after this step and saving a checkpoint (Ctrl-C again quits at once)")
            runner.control.cancel()
        }
        interrupt.resume()
        defer {
            interrupt.cancel()
            signal(SIGINT, SIG_DFL)
        }
        do {
            summary = try runner.run(resume: options.resume) { event in
                switch event {
                case let .started(first, total, resumed):
                    CommandOutput.progress("\(method): \(resumed ? "resuming at" : "starting") step \(first) of \(total); \(describe)")
                case let .step(m):
                    if let v = m.validationLoss { lastValidation = v }
                    last = m
                    progress.update(m, validation: lastValidation, headline: headline)
                case let .checkpointSaved(step, _):
                    progress.note("checkpoint at step \(step)")
                case let .failed(step, message):
                    progress.note("failed at step \(step): \(message)")
                case let .cancelled(step):
                    stoppedAt = step
                default:
                    break
                }
                return .proceed
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        guard let summary else {
            let step = stoppedAt ?? 0
            CommandOutput.progress(step > 0
                ? "stopped at step \(step) of \(options.steps); checkpoint in \(folder.path). Continue with the same command and --resume."
                : "stopped before the first step finished; nothing to resume")
            throw ExitCode(130)
        }
        return (summary, last, lastValidation)
    }
}

extension ProgressLine {
    /// A training step: loss, validation loss, learning rate, gradient norm, tokens/s.
    func update(_ m: StepMetrics, validation: Double?, headline: [String] = []) {
        var text = String(format: "loss %.4f", m.loss)
        for key in headline { if let v = m.extra[key] { text += String(format: " %@ %.4f", key, v) } }
        if let validation { text += String(format: " val %.4f", validation) }
        text += String(format: " lr %.2e gnorm %.2f %.1f tok/s", m.learningRate, m.gradNorm, m.tokensPerSecond)
        draw(m.step, of: m.totalSteps, detail: text, elapsed: m.elapsedSeconds, eta: m.etaSeconds)
    }
}

// MARK: methods

extension TrainCommand {
    /// LoRA on a Gemma 3 GGUF: the base stays in its (quantized) GGUF blocks.
    struct LoRA: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lora",
            abstract: "LoRA adapters on a frozen Gemma 3 GGUF base (on a quantized GGUF this is QLoRA).",
            discussion: """
            The base weights are used straight from the GGUF blocks: the forward product runs the \
            inference kernels, the backward product is computed from the blocks a tile at a time, and \
            no dequantized copy of the model is made — so on a quantized file (e.g. Q4_K_M) `lora` is \
            the same as `qlora`. Only the adapters (A, B) train. The result is OUT/adapter/ in PEFT \
            layout (adapter_config.json + adapter_model.safetensors), usable with \
            `whet generate --adapter OUT/adapter`; each checkpoint holds a copy too.
            """
        )
        @Option(help: "Base model: a Gemma 3 .gguf file or the name of an installed model.")
        var model: String = ModelLocator.defaultModelName
        @OptionGroup var data: TrainDataOptions
        @OptionGroup var lora: LoRAOptions
        @OptionGroup var options: TrainRunOptions

        func run() throws {
            try reportingErrors { try runLoRA(method: "lora", model: model, data: data, lora: lora, options: options) }
        }
    }

    struct QLoRA: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "qlora",
            abstract: "QLoRA: LoRA adapters on a quantized Gemma 3 GGUF base (the same run as `lora`).",
            discussion: "Identical to `whet train lora`: the frozen base always stays in its GGUF blocks."
        )
        @Option(help: "Base model: a Gemma 3 .gguf file or the name of an installed model.")
        var model: String = ModelLocator.defaultModelName
        @OptionGroup var data: TrainDataOptions
        @OptionGroup var lora: LoRAOptions
        @OptionGroup var options: TrainRunOptions

        func run() throws {
            try reportingErrors { try runLoRA(method: "qlora", model: model, data: data, lora: lora, options: options) }
        }
    }

    struct SFT: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sft",
            abstract: "Full fine-tuning in fp32 of a small Llama-style safetensors model (e.g. a `whet train pretrain` result).",
            discussion: """
            Every weight trains (fp32, AdamW). The model is a Hugging Face folder (config.json with \
            model_type llama and no biases, model.safetensors, tokenizer.json). The result is \
            OUT/model/, a folder of the same kind. Quantized GGUF models are fine-tuned with `lora`.
            """
        )
        @Option(help: "Model folder (config.json, model.safetensors, tokenizer.json).")
        var model: String
        @OptionGroup var data: TrainDataOptions
        @OptionGroup var options: TrainRunOptions

        func run() throws {
            try reportingErrors {
                let folder = URL(fileURLWithPath: (model as NSString).expandingTildeInPath, isDirectory: true)
                let decoder = try DecoderModelFolder.load(folder)
                let config = try HFModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
                let tokenizerURL = folder.appendingPathComponent("tokenizer.json")
                let tokenizer = HFTextTokenizer(tokenizer: try HFTokenizer(contentsOf: tokenizerURL), config: config)
                let template = data.template == "auto" ? ChatTemplate(.none)
                    : try ChatTemplate.resolve(data.template, architecture: nil, embeddedTemplate: nil)
                let eos = config.eosTokenIds.first
                let formatting = try TrainDriver.formatting(data: data, template: template, endOfSequence: eos)
                let settings = try options.trainingSettings()
                let (train, validation) = try TrainDriver.rows(data: data, formatting: formatting, tokenizer: tokenizer,
                                                               padToken: config.padTokenId ?? eos ?? 0, seed: settings.seed,
                                                               plainText: false)
                let task = try LanguageModelTask(model: decoder, rows: train, validationRows: validation, settings: settings)
                let record = RunRecord(method: "sft", model: folder.path, data: data.data,
                                       arguments: runArguments(data: data, options: options, extra: [:]))
                try TrainDriver.run(method: "sft", record: record, task: task, options: options, trainRows: train.count,
                                    validationRows: validation.count) {
                    let out = options.outURL.appendingPathComponent("model")
                    try DecoderModelFolder.save(decoder, to: out, maxPositions: max(config.maxPositionEmbeddings, data.sequenceLength),
                                                tokenizerJSON: try Data(contentsOf: tokenizerURL), bos: config.bosTokenId, eos: eos)
                    return (nil, out.path)
                }
            }
        }
    }

    struct Pretrain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pretrain",
            abstract: "Pretrain a small Llama-style model from scratch on a plain-text corpus.",
            discussion: """
            The model (RMSNorm, rotary attention with grouped KV heads, SwiGLU; shape from the flags) \
            starts from N(0, 0.02²) weights and learns next-token prediction on --data (paragraphs \
            separated by blank lines, or a {"text"} JSONL file), packed into rows of --seq-len. The \
            tokenizer is byte-level (256 byte tokens and <|endoftext|>), or --tokenizer's tokenizer.json. \
            The result, OUT/model/ (config.json, model.safetensors, tokenizer.json), loads with the \
            engine's Llama decoder and can be fine-tuned further with `whet train sft`.
            """
        )
        @Option(name: .customLong("hidden-size"), help: "Model width.")
        var hiddenSize: Int = 128
        @Option(help: "Decoder layers.")
        var layers: Int = 4
        @Option(help: "Attention heads.")
        var heads: Int = 4
        @Option(name: .customLong("kv-heads"), help: "Key/value heads (grouped-query attention).")
        var kvHeads: Int = 2
        @Option(name: .customLong("intermediate-size"), help: "Feed-forward width.")
        var intermediateSize: Int = 384
        @Option(name: .customLong("rope-theta"), help: "RoPE base.")
        var ropeTheta: Float = 10_000
        @Flag(name: .customLong("untied"), help: "Separate output matrix instead of tied embeddings.")
        var untied = false
        @Option(help: "A tokenizer.json to use instead of the byte-level one (its vocabulary sets the model's).")
        var tokenizer: String?
        @OptionGroup var data: TrainDataOptions
        @OptionGroup var options: TrainRunOptions

        func run() throws {
            try reportingErrors {
                let tokenizerJSON: Data
                if let tokenizer {
                    let path = (tokenizer as NSString).expandingTildeInPath
                    guard let bytes = FileManager.default.contents(atPath: path) else {
                        throw CommandFailure("cannot read \(path); pass a tokenizer.json with --tokenizer")
                    }
                    tokenizerJSON = bytes
                } else {
                    tokenizerJSON = try DecoderModelFolder.byteLevelTokenizerJSON()
                }
                let hf = try HFTokenizer(json: tokenizerJSON)
                let vocabulary = hf.vocabularySize
                guard heads > 0, hiddenSize % max(heads, 1) == 0 else {
                    throw CommandFailure("--hidden-size (\(hiddenSize)) must be a multiple of --heads (\(heads))")
                }
                let config = DecoderConfig(vocabularySize: vocabulary, hiddenSize: hiddenSize, layers: layers, heads: heads,
                                           kvHeads: kvHeads, headDim: hiddenSize / heads, intermediateSize: intermediateSize,
                                           ropeBase: ropeTheta, ropeStyle: .neox, normEps: 1e-6, activation: .silu,
                                           tiedEmbeddings: !untied, scalesEmbeddings: false)
                do { try config.validate() } catch { throw CommandFailure("\(error)") }
                let settings = try options.trainingSettings()
                let model = try DecoderModel(config: config, seed: settings.seed)
                let endOfText = hf.id(of: "<|endoftext|>") ?? hf.id(of: "</s>") ?? hf.id(of: "<|end_of_text|>")
                let hfConfig = try HFModelConfig(json: try DecoderModelFolder.configJSON(config, maxPositions: data.sequenceLength,
                                                                                         bos: endOfText, eos: endOfText))
                let textTokenizer = HFTextTokenizer(tokenizer: hf, config: hfConfig)
                var corpus = data
                corpus.trainOn = "all"
                let formatting = SFTFormatting(template: ChatTemplate(.none), completionOnly: false, endOfSequence: endOfText,
                                               beginningOfSequence: true)
                let (train, validation) = try TrainDriver.rows(data: corpus, formatting: formatting, tokenizer: textTokenizer,
                                                               padToken: endOfText ?? 0, seed: settings.seed, plainText: true)
                let task = try LanguageModelTask(model: model, rows: train, validationRows: validation, settings: settings)
                let record = RunRecord(method: "pretrain", model: nil, data: data.data, arguments: runArguments(
                    data: data, options: options, extra: ["hidden_size": "\(hiddenSize)", "layers": "\(layers)", "heads": "\(heads)",
                                                          "kv_heads": "\(kvHeads)", "intermediate_size": "\(intermediateSize)",
                                                          "rope_theta": "\(ropeTheta)", "untied": "\(untied)",
                                                          "tokenizer": tokenizer ?? "byte-level"]))
                try TrainDriver.run(method: "pretrain", record: record, task: task, options: options, trainRows: train.count,
                                    validationRows: validation.count) {
                    let out = options.outURL.appendingPathComponent("model")
                    try DecoderModelFolder.save(model, to: out, maxPositions: max(data.sequenceLength, 256), tokenizerJSON: tokenizerJSON,
                                                bos: endOfText, eos: endOfText)
                    return (nil, out.path)
                }
            }
        }
    }
}

/// Settings that must not change between a run and its `--resume`.
private func runArguments(data: TrainDataOptions, options: TrainRunOptions, extra: [String: String]) -> [String: String] {
    var a: [String: String] = [
        "val_data": data.validationData ?? "", "val_fraction": "\(data.validationFraction)", "seq_len": "\(data.sequenceLength)",
        "layout": data.layout.rawValue, "template": data.template, "train_on": data.trainOn, "steps": "\(options.steps)",
        "batch_size": "\(options.batchSize)", "grad_accum": "\(options.gradientAccumulation)", "lr": "\(options.lr)",
        "schedule": options.schedule, "warmup_steps": "\(options.warmupSteps)", "min_lr": "\(options.minimumLR)",
        "weight_decay": "\(options.weightDecay)", "max_grad_norm": "\(options.maxGradNorm)", "seed": "\(options.seed)",
    ]
    a.merge(extra) { $1 }
    return a
}

private func runLoRA(method: String, model: String, data: TrainDataOptions, lora: LoRAOptions, options: TrainRunOptions) throws {
    let url = try ModelLocator.locate(model)
    let file = try GGUFFile(path: url.path)
    let gemma = try Gemma3Model(file: file)
    let tokenizer = try SentencePieceTokenizer(gguf: file)
    let configuration = try lora.configuration()
    let settings = try options.trainingSettings()
    let trainable = try Gemma3TrainableModel(model: gemma, lora: configuration, seed: settings.seed)
    let template = try ChatTemplate.resolve(data.template, gguf: file.metadata)
    let formatting = try TrainDriver.formatting(data: data, template: template, endOfSequence: Int(tokenizer.eosID))
    let (train, validation) = try TrainDriver.rows(data: data, formatting: formatting, tokenizer: tokenizer,
                                                   padToken: Int(tokenizer.padID ?? 0), seed: settings.seed, plainText: false)
    let task = try LanguageModelTask(model: trainable, rows: train, validationRows: validation, settings: settings)
    let baseName = url.lastPathComponent
    task.exportFiles = { folder in
        try trainable.peftAdapter(baseModel: baseName)?.save(to: folder.appendingPathComponent("adapter"))
    }
    let record = RunRecord(method: "lora", model: url.path, data: data.data, arguments: runArguments(
        data: data, options: options, extra: ["rank": "\(lora.rank)", "alpha": "\(lora.alpha)", "dropout": "\(lora.dropout)",
                                              "targets": configuration.targets.map(\.rawValue).joined(separator: ",")]))
    try TrainDriver.run(method: method, record: record, task: task, options: options, trainRows: train.count,
                        validationRows: validation.count) {
        let out = options.outURL.appendingPathComponent("adapter")
        try trainable.peftAdapter(baseModel: baseName)?.save(to: out)
        return (out.path, nil)
    }
}
