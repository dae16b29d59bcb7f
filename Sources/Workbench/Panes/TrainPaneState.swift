import Training

/// A metric series for a chart: (step, value) points in step order.
public struct MetricSeries: Sendable, Equatable {
    public var name: String
    public var points: [(step: Int, value: Double)]

    public init(name: String, points: [(step: Int, value: Double)] = []) {
        self.name = name
        self.points = points
    }

    public static func == (a: MetricSeries, b: MetricSeries) -> Bool {
        a.name == b.name && a.points.count == b.points.count
            && zip(a.points, b.points).allSatisfy { $0.step == $1.step && $0.value == $1.value }
    }

    /// Adds a point; a repeated step (after a resume) replaces the later points.
    mutating func add(step: Int, value: Double) {
        while let last = points.last, last.step >= step { points.removeLast() }
        points.append((step, value))
    }

    /// The last `n` points (the chart's zoom).
    public func last(_ n: Int) -> ArraySlice<(step: Int, value: Double)> { points.suffix(n) }
}

public enum TrainingMethod: String, CaseIterable, Sendable {
    case sft, lora, qlora, dpo, reward, rlhf

    /// The Train pane's three charts for this method: a title and the series (metric names as
    /// `StepMetrics` and `metrics.jsonl` name them) of the large chart, then of the two small ones.
    public var charts: [(title: String, series: [String])] {
        switch self {
        case .sft, .lora, .qlora:
            return [("loss · validation loss", ["loss", "val_loss"]), ("learning rate", ["lr"]), ("tokens/s", ["tokens_per_second"])]
        case .dpo:
            return [("loss · validation loss", ["loss", "val_loss"]),
                    ("implicit rewards", ["rewards/margins", "rewards/chosen", "rewards/rejected"]),
                    ("rewards/accuracies", ["rewards/accuracies"])]
        case .reward:
            return [("loss · held-out loss", ["loss", "eval/loss"]), ("pair accuracy", ["accuracy", "eval/accuracy"]),
                    ("margin", ["margin"])]
        case .rlhf:
            return [("mean reward · reward std", ["reward", "reward_std"]), ("KL to the reference", ["kl"]),
                    ("completion length", ["completions/mean_length"])]
        }
    }

    /// A series' name in a chart legend (the panel title already says what the chart is).
    public static func label(of series: String) -> String {
        switch series {
        case "tokens_per_second": "tok/s"
        case "val_loss": "val loss"
        case "rewards/margins": "margin"
        case "rewards/chosen": "chosen"
        case "rewards/rejected": "rejected"
        case "rewards/accuracies": "accuracy"
        case "eval/loss": "held-out loss"
        case "eval/accuracy": "held-out"
        case "reward_std": "std"
        case "completions/mean_length": "tokens"
        default: series
        }
    }

    /// Figures of the latest step the status line shows, besides the loss: the alignment methods'
    /// own list (`AlignmentMethod.headline`, which `whet align` prints too).
    public var headline: [String] {
        switch self {
        case .sft, .lora, .qlora: []
        case .dpo: AlignmentMethod.dpo().headline
        case .reward: AlignmentMethod.reward.headline
        case .rlhf: AlignmentMethod.rlhf(rewardModel: "").headline
        }
    }
}

public enum TrainStatus: Sendable, Equatable {
    case idle, running, paused, finished, cancelled
    case failed(String)
}

/// What the Train pane shows: method, status, progress, ETA and the live series.
public struct TrainPaneState: Sendable, Equatable {
    public var method: TrainingMethod = .lora
    public var datasetPath: String?
    public var status: TrainStatus = .idle
    public var step = 0
    public var totalSteps = 0
    public var etaSeconds: Double?
    public var tokensPerSecond: Double?
    public var lastCheckpoint: String?
    /// Loss and method figures of the latest step.
    public var lastLoss: Double?
    public var lastExtra: [String: Double] = [:]
    /// Where the finished run wrote its adapter or reward model.
    public var output: String?
    /// The step a resumed run continued after (0 for a new run).
    public var resumedAfter = 0
    public var series: [String: MetricSeries] = [:]
    public var runningJob: JobID?

    public init() {}

    public var progress: Double { totalSteps == 0 ? 0 : Double(step) / Double(totalSteps) }

    public func series(_ name: String) -> MetricSeries { series[name] ?? MetricSeries(name: name) }

    public mutating func apply(_ message: JobMessage) {
        guard message.job == runningJob else { return }
        switch message.event {
        case let .training(event): apply(event)
        case let .trainingOutput(path): output = path
        case let .jobEnded(_, state):
            runningJob = nil
            switch state {
            case let .failed(reason): status = .failed(reason)
            case .cancelled: status = .cancelled
            case .finished, .running: if status == .running { status = .finished }
            }
        default: break
        }
    }

    public mutating func apply(_ event: RunEvent) {
        switch event {
        case let .started(first, total, resumed):
            status = .running
            step = first - 1
            totalSteps = total
            resumedAfter = resumed ? first - 1 : 0
        case let .step(m):
            step = m.step
            totalSteps = m.totalSteps
            etaSeconds = m.etaSeconds
            tokensPerSecond = m.tokensPerSecond
            lastLoss = m.loss
            lastExtra = m.extra
            record("loss", m.step, m.loss)
            if let v = m.validationLoss { record("val_loss", m.step, v) }
            record("lr", m.step, m.learningRate)
            record("grad_norm", m.step, m.gradNorm)
            record("tokens_per_second", m.step, m.tokensPerSecond)
            for (k, v) in m.extra { record(k, m.step, v) }
        case let .checkpointSaved(_, path): lastCheckpoint = path
        case .paused: status = .paused
        case .resumed: status = .running
        case .finished: status = .finished
        case .cancelled: status = .cancelled
        case let .failed(_, message): status = .failed(message)
        }
    }

    private mutating func record(_ name: String, _ step: Int, _ value: Double) {
        guard value.isFinite else { return }
        series[name, default: MetricSeries(name: name)].add(step: step, value: value)
    }
}
