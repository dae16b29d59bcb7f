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

    /// Series the Train pane charts for this method.
    public var chartedSeries: [String] {
        switch self {
        case .sft, .lora, .qlora: return ["loss", "val_loss", "lr", "tokens_per_second"]
        case .dpo: return ["loss", "rewards/margins", "rewards/accuracies", "lr"]
        case .reward: return ["loss", "accuracy", "lr"]
        case .rlhf: return ["reward_mean", "kl", "loss", "response_length"]
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
    public var series: [String: MetricSeries] = [:]
    public var runningJob: JobID?

    public init() {}

    public var progress: Double { totalSteps == 0 ? 0 : Double(step) / Double(totalSteps) }

    public func series(_ name: String) -> MetricSeries { series[name] ?? MetricSeries(name: name) }

    public mutating func apply(_ message: JobMessage) {
        guard message.job == runningJob else { return }
        switch message.event {
        case let .training(event): apply(event)
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
        case let .started(first, total, _):
            status = .running
            step = first - 1
            totalSteps = total
        case let .step(m):
            step = m.step
            totalSteps = m.totalSteps
            etaSeconds = m.etaSeconds
            tokensPerSecond = m.tokensPerSecond
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
