/// The sampler knobs the Prompt pane exposes as sliders.
public enum GenerationParameter: String, CaseIterable, Sendable {
    case temperature, maxTokens = "max tokens", topP = "top-p", topK = "top-k", minP = "min-p", repeatPenalty = "rep penalty"

    /// Allowed range and the step one key press moves.
    public var range: ClosedRange<Double> {
        switch self {
        case .temperature: return 0...2
        case .maxTokens: return 1...4096
        case .topP: return 0...1
        case .topK: return 0...200
        case .minP: return 0...1
        case .repeatPenalty: return 1...2
        }
    }

    public var step: Double {
        switch self {
        case .temperature: return 0.05
        case .maxTokens: return 16
        case .topP, .minP: return 0.01
        case .topK: return 1
        case .repeatPenalty: return 0.01
        }
    }

    public func format(_ v: Double) -> String {
        switch self {
        case .maxTokens, .topK: return String(Int(v.rounded()))
        default: return String(format2: v)
        }
    }
}

extension String {
    init(format2 v: Double) {
        let scaled = (v * 100).rounded() / 100
        var s = "\(scaled)"
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < 2 { s += String(repeating: "0", count: 2 - decimals) }
        }
        self = s
    }
}

/// Sampler settings as the workbench edits them.
public struct GenerationParameters: Sendable, Equatable, Codable {
    public var temperature = 0.8
    public var maxTokens = 128
    public var topP = 0.95
    public var topK = 40
    public var minP = 0.05
    public var repeatPenalty = 1.0
    public var seed: UInt64 = 42
    /// Text that ends the output when generated (not shown).
    public var stop: [String] = []

    public init() {}

    public subscript(_ p: GenerationParameter) -> Double {
        get {
            switch p {
            case .temperature: return temperature
            case .maxTokens: return Double(maxTokens)
            case .topP: return topP
            case .topK: return Double(topK)
            case .minP: return minP
            case .repeatPenalty: return repeatPenalty
            }
        }
        set {
            let v = min(max(newValue, p.range.lowerBound), p.range.upperBound)
            switch p {
            case .temperature: temperature = (v * 100).rounded() / 100
            case .maxTokens: maxTokens = Int(v.rounded())
            case .topP: topP = (v * 100).rounded() / 100
            case .topK: topK = Int(v.rounded())
            case .minP: minP = (v * 100).rounded() / 100
            case .repeatPenalty: repeatPenalty = (v * 100).rounded() / 100
            }
        }
    }
}

extension GenerationParameters {
    /// Stop sequences as typed in one line: comma-separated, each trimmed, `\n` for a newline,
    /// `\,` for a comma inside a sequence; empty ones dropped.
    public static func parseStopSequences(_ line: String) -> [String] {
        let placeholder = "\u{0}"
        return line.replacingOccurrences(of: "\\,", with: placeholder)
            .split(separator: ",", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: placeholder, with: ",")
                .replacingOccurrences(of: "\\n", with: "\n") }
            .filter { !$0.isEmpty }
    }
}

/// What the Prompt pane shows and edits; the pane renders it, controllers mutate it.
public struct PromptPaneState: Sendable, Equatable {
    public var systemPrompt = ""
    public var userPrompt = ""
    public var parameters = GenerationParameters()
    public var output = ""
    /// The prompt and settings that produced `output`.
    public private(set) var outputSource: (prompt: String, system: String, parameters: GenerationParameters, retrieval: Bool)?
    public var runningJob: JobID?
    public var lastStats: GenerationStats?
    /// Tokens generated so far by the running (or last) generation, and their rate.
    public var generatedTokens = 0
    public var liveTokensPerSecond: Double?
    /// Prompt tokens the running generation reused from the cache.
    public var reusedPromptTokens: Int?
    public var promptTokenCount: Int?
    public var contextLength: Int
    /// Re-run automatically when a slider moves (otherwise the output is marked stale).
    public var autoRerun = true
    public var error: String?
    /// Answer from retrieved passages (`whet rag ask`'s prompt) instead of the bare prompt.
    public var retrievalEnabled = false
    /// Passages retrieved per run.
    public var retrievalK = 3
    /// What the retrieval index holds (or that it is missing); nil until it has been opened.
    public var retrievalIndex: RetrievalIndexStatus?
    /// The passages the running (or last) generation was given, best first.
    public var retrievedChunks: [RetrievedChunk] = []

    public init(contextLength: Int) { self.contextLength = contextLength }

    public static func == (a: PromptPaneState, b: PromptPaneState) -> Bool {
        a.systemPrompt == b.systemPrompt && a.userPrompt == b.userPrompt && a.parameters == b.parameters && a.output == b.output
            && a.runningJob == b.runningJob && a.lastStats == b.lastStats && a.promptTokenCount == b.promptTokenCount
            && a.generatedTokens == b.generatedTokens && a.liveTokensPerSecond == b.liveTokensPerSecond
            && a.reusedPromptTokens == b.reusedPromptTokens && a.contextLength == b.contextLength && a.autoRerun == b.autoRerun && a.error == b.error
            && a.outputSource?.prompt == b.outputSource?.prompt && a.outputSource?.system == b.outputSource?.system
            && a.outputSource?.parameters == b.outputSource?.parameters && a.outputSource?.retrieval == b.outputSource?.retrieval
            && a.retrievalEnabled == b.retrievalEnabled && a.retrievalK == b.retrievalK && a.retrievalIndex == b.retrievalIndex
            && a.retrievedChunks == b.retrievedChunks
    }

    /// The output no longer matches the current prompt or settings.
    public var isStale: Bool {
        guard let source = outputSource else { return false }
        return source.prompt != userPrompt || source.system != systemPrompt || source.parameters != parameters
            || source.retrieval != retrievalEnabled
    }

    /// Positions of the context in use: the prompt and what has been generated so far (the pane's meter).
    public var contextUsedTokens: Int { (promptTokenCount ?? 0) + generatedTokens }

    /// `contextUsedTokens` as a share of the context (0 before a model is loaded).
    public var contextFraction: Double {
        contextLength > 0 ? Double(contextUsedTokens) / Double(contextLength) : 0
    }

    /// Moves a slider by `steps` key presses; returns whether the value changed.
    @discardableResult
    public mutating func nudge(_ p: GenerationParameter, steps: Int) -> Bool {
        set(p, to: parameters[p] + Double(steps) * p.step)
    }

    /// Sets a slider (e.g. from a mouse position); returns whether the value changed.
    @discardableResult
    public mutating func set(_ p: GenerationParameter, to value: Double) -> Bool {
        let before = parameters
        parameters[p] = value
        return parameters != before
    }

    /// Whether a change should start a new generation now (the controller debounces slider drags).
    public var wantsRerun: Bool { autoRerun && isStale && runningJob == nil }

    /// Whether a change should stop the running generation and start again once it ended.
    public var wantsRestart: Bool { autoRerun && isStale && runningJob != nil }

    /// Records that a generation started with the current prompt and settings.
    public mutating func generationStarted(_ job: JobID) {
        runningJob = job
        output = ""
        error = nil
        lastStats = nil
        generatedTokens = 0
        liveTokensPerSecond = nil
        reusedPromptTokens = nil
        retrievedChunks = []
        outputSource = (userPrompt, systemPrompt, parameters, retrievalEnabled)
    }

    /// Applies an event of the running generation.
    public mutating func apply(_ message: JobMessage) {
        guard message.job == runningJob else { return }
        switch message.event {
        case let .retrieved(_, chunks): retrievedChunks = chunks
        case let .text(_, piece): output += piece
        case let .generated(_, piece, tokens, seconds):
            output += piece
            generatedTokens = tokens
            if seconds > 0 { liveTokensPerSecond = Double(tokens) / seconds }
        case let .promptProcessed(_, tokens, reused):
            promptTokenCount = tokens
            reusedPromptTokens = reused
        case let .generationFinished(_, stats):
            lastStats = stats
            generatedTokens = stats.generatedTokens
            liveTokensPerSecond = stats.tokensPerSecond
        case let .jobEnded(_, state):
            runningJob = nil
            if case let .failed(reason) = state { error = reason }
        case let .notice(text): error = text
        default: break
        }
    }
}
