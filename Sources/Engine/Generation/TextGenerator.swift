import Foundation

/// One generation to run: prompt token ids, sampler knobs and when to stop.
public struct GenerationJob: Sendable, Equatable {
    public var promptTokens: [Int32]
    public var sampler: SamplerSettings
    /// Most tokens to generate.
    public var maxTokens: Int
    /// Text that ends the generation (matched across token boundaries, never part of the output).
    public var stopSequences: [String]
    /// Tokens that end the generation besides the tokenizer's end-of-generation tokens.
    public var extraStopTokens: Set<Int32>

    public init(promptTokens: [Int32], sampler: SamplerSettings = SamplerSettings(), maxTokens: Int = 256,
                stopSequences: [String] = [], extraStopTokens: Set<Int32> = []) {
        self.promptTokens = promptTokens
        self.sampler = sampler
        self.maxTokens = maxTokens
        self.stopSequences = stopSequences
        self.extraStopTokens = extraStopTokens
    }
}

public enum GenerationStopReason: String, Sendable, Codable, Equatable {
    /// The model produced an end-of-generation token (`<eos>`, `<end_of_turn>`).
    case endOfGeneration = "end_of_generation"
    case stopSequence = "stop_sequence"
    case maxTokens = "max_tokens"
    /// The context window is full.
    case contextFull = "context_full"
    /// `cancel()` was called or the event callback answered `.stop`.
    case cancelled
}

/// How the prompt went into the cache.
public struct PromptStatistics: Sendable, Equatable, Codable {
    public var promptTokens: Int
    /// Tokens already in the cache from an earlier run with the same prefix, not recomputed.
    public var reusedTokens: Int
    /// Tokens run through the model for this prompt.
    public var processedTokens: Int
    public var seconds: Double
    public var tokensPerSecond: Double { seconds > 0 ? Double(processedTokens) / seconds : 0 }
}

public struct GeneratedToken: Sendable, Equatable {
    public var id: Int32
    /// Position of this token among the generated ones (0-based).
    public var index: Int
    /// Text this token released: may be empty (an incomplete character, or the possible start of a
    /// stop sequence, is held back) or include text held back before.
    public var text: String
}

public struct GenerationSummary: Sendable, Equatable {
    public var text: String
    public var tokenIds: [Int32]
    public var prompt: PromptStatistics
    public var generatedTokens: Int { tokenIds.count }
    public var stopReason: GenerationStopReason
    /// The stop sequence that matched, when `stopReason == .stopSequence`.
    public var stopSequence: String?
    /// The end-of-generation token, when `stopReason == .endOfGeneration`.
    public var stopToken: Int32?
    public var generationSeconds: Double
    /// Generated tokens per second of generation wall time (sampling included).
    public var tokensPerSecond: Double { generationSeconds > 0 ? Double(tokenIds.count) / generationSeconds : 0 }
    /// The sampler's seed (re-use it to repeat the run).
    public var seed: UInt64
}

public enum GenerationEvent: Sendable, Equatable {
    case promptProcessed(PromptStatistics)
    case token(GeneratedToken)
    /// Held-back text released when the generation ends without a new token.
    case text(String)
    case finished(GenerationSummary)
    case failed(GenerationError)
}

/// One run on a `TextGenerator`: cancel it or wait for it.
public final class GenerationSession: Sendable {
    private let state = LockedState()
    private let cancellation = CancellationFlag()

    init() {}

    /// Asks the run to stop; it does so before computing another token.
    public func cancel() { cancellation.cancel() }

    public var isCancelled: Bool { cancellation.isCancelled }

    /// Blocks until the run ends. Do not call from the generator's own queue (the event callback).
    public func wait() -> Result<GenerationSummary, GenerationError> {
        state.condition.lock()
        while state.unsafeValue.result == nil { state.condition.wait() }
        let result = state.unsafeValue.result ?? .failure(.modelFailed("generation ended without a result"))
        state.condition.unlock()
        return result
    }

    func complete(_ result: Result<GenerationSummary, GenerationError>) {
        state.condition.lock()
        state.unsafeValue.result = result
        state.condition.broadcast()
        state.condition.unlock()
    }

    // @unchecked Sendable: `unsafeValue` is touched only with `condition` held.
    private final class LockedState: @unchecked Sendable {
        struct Value {
            var result: Result<GenerationSummary, GenerationError>?
        }
        let condition = NSCondition()
        // Only touched with `condition` held.
        var unsafeValue = Value()
        func withLock<T>(_ body: (inout Value) -> T) -> T {
            condition.lock()
            defer { condition.unlock() }
            return body(&unsafeValue)
        }
    }
}

/// Runs generations one after another on a loaded model, on a background serial queue.
///
/// The generator remembers which token ids its model's cache holds; a new prompt that starts with
/// the same tokens re-uses them and only the differing rest is computed (a re-run after moving a
/// sampler slider processes a single token). Events go to the callback on the generator's queue;
/// answer `.stop` to end the run.
// @unchecked Sendable: the cache and the queued state are touched only inside `lock.withLock`, and the model runs on the generator's serial queue.
public final class TextGenerator: @unchecked Sendable {
    // The model and tokenizer are used only on `queue`; `cache` is guarded by `lock`.
    let model: any CausalLanguageModel
    public let tokenizer: any TextTokenizer
    let queue: DispatchQueue
    private let lock = NSLock()
    private var cache: [Int32] = []

    public init(model: any CausalLanguageModel, tokenizer: any TextTokenizer, label: String = "whetstone.generation") {
        self.model = model
        self.tokenizer = tokenizer
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    public var contextLength: Int { model.contextLength }

    /// Token ids whose keys and values are in the model's cache now.
    public var cachedTokens: [Int32] { lock.withLock { cache } }

    /// Starts `job` after any runs already queued. Events arrive on the generator's queue.
    @discardableResult
    public func start(_ job: GenerationJob,
                      onEvent: @escaping @Sendable (GenerationEvent) -> Directive) -> GenerationSession {
        let session = GenerationSession()
        queue.async { [self] in
            let result: Result<GenerationSummary, GenerationError>
            do {
                let summary = try execute(job, session: session, onEvent: onEvent)
                result = .success(summary)
                _ = onEvent(.finished(summary))
            } catch {
                let failure = error as? GenerationError ?? .modelFailed(String(describing: error))
                result = .failure(failure)
                _ = onEvent(.failed(failure))
            }
            session.complete(result)
        }
        return session
    }

    /// Runs `job` and waits for it (for command-line use); events still go to `onEvent`.
    public func generate(_ job: GenerationJob,
                         onEvent: @escaping @Sendable (GenerationEvent) -> Directive = { _ in .proceed }) throws -> GenerationSummary {
        try start(job, onEvent: onEvent).wait().get()
    }

    /// Drops the whole cache (the next run recomputes its prompt from the start).
    public func resetCache() {
        queue.sync {
            _ = model.truncateCache(to: 0)
            lock.withLock { cache.removeAll() }
        }
    }

    /// Keeps the longest cached prefix of `prompt`, but never all of it: the last prompt token is
    /// always run again, since its logits are what the caller needs. Returns how many positions stay.
    func reuseCachedPrefix(of prompt: [Int32]) -> Int {
        let cached = cachedTokens
        var common = 0
        while common < cached.count && common < prompt.count && cached[common] == prompt[common] { common += 1 }
        let keep = min(common, max(prompt.count - 1, 0))
        let retained = min(model.truncateCache(to: keep), keep)
        lock.withLock { cache.removeSubrange(min(retained, cache.count)...) }
        return retained
    }

    /// Runs `tokens` at `position` (the cache holds exactly `position` positions), records them as
    /// cached and leaves the last token's logits in `logits`.
    func forwardRecording(_ tokens: ArraySlice<Int32>, at position: Int, logits: inout [Float]) throws {
        do {
            try logits.withUnsafeMutableBufferPointer { buffer in
                try model.forward(tokens: Array(tokens), startingAt: position, logits: buffer)
            }
        } catch {
            // The cache may hold part of this batch: start clean next time.
            _ = model.truncateCache(to: 0)
            lock.withLock { cache.removeAll() }
            throw error as? GenerationError ?? .modelFailed(String(describing: error))
        }
        lock.withLock { cache.append(contentsOf: tokens) }
    }

    /// Drops cached positions from `count` on (the model's cache and the record of it).
    func truncateRecordedCache(to count: Int) -> Int {
        let kept = model.truncateCache(to: count)
        lock.withLock { cache.removeSubrange(min(kept, cache.count)...) }
        return kept
    }

    private func execute(_ job: GenerationJob, session: GenerationSession,
                         onEvent: (GenerationEvent) -> Directive) throws -> GenerationSummary {
        try job.sampler.validate()
        if job.maxTokens < 0 {
            throw GenerationError.invalidSetting(name: "max_tokens", value: String(job.maxTokens), rule: "an integer ≥ 0")
        }
        let prompt = job.promptTokens
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard prompt.count < model.contextLength else {
            throw GenerationError.promptTooLong(tokens: prompt.count, contextLength: model.contextLength)
        }
        let vocabulary = model.vocabularySize
        var logits = [Float](repeating: 0, count: vocabulary)
        let retained = reuseCachedPrefix(of: prompt)

        let promptStart = DispatchTime.now().uptimeNanoseconds
        var position = retained
        var sampler = Sampler(settings: job.sampler)
        func summary(_ reason: GenerationStopReason, statistics: PromptStatistics, generated: [Int32], text: String,
                     generationSeconds: Double, sequence: String? = nil, token: Int32? = nil) -> GenerationSummary {
            GenerationSummary(text: text, tokenIds: generated, prompt: statistics, stopReason: reason, stopSequence: sequence,
                              stopToken: token, generationSeconds: generationSeconds, seed: sampler.seed)
        }
        func forward(_ tokens: ArraySlice<Int32>) throws {
            try forwardRecording(tokens, at: position, logits: &logits)
            position += tokens.count
        }

        let batch = max(1, model.maximumBatchSize)
        while position < prompt.count {
            if session.isCancelled {
                let statistics = PromptStatistics(promptTokens: prompt.count, reusedTokens: retained,
                                                  processedTokens: position - retained, seconds: Self.seconds(since: promptStart))
                return summary(.cancelled, statistics: statistics, generated: [], text: "", generationSeconds: 0)
            }
            try forward(prompt[position..<min(position + batch, prompt.count)])
        }
        let statistics = PromptStatistics(promptTokens: prompt.count, reusedTokens: retained,
                                          processedTokens: prompt.count - retained, seconds: Self.seconds(since: promptStart))
        if onEvent(.promptProcessed(statistics)) == .stop {
            return summary(.cancelled, statistics: statistics, generated: [], text: "", generationSeconds: 0)
        }

        let generationStart = DispatchTime.now().uptimeNanoseconds
        let stopTokens = tokenizer.endOfGenerationTokens.union(job.extraStopTokens)
        var matcher = StopSequenceMatcher(stopSequences: job.stopSequences)
        var decoder = UTF8StreamDecoder()
        var history = prompt
        var generated: [Int32] = []
        var text = ""

        func finish(_ reason: GenerationStopReason, sequence: String? = nil, token: Int32? = nil) -> GenerationSummary {
            if reason != .stopSequence {
                let tail = decoder.append(matcher.finish()) + decoder.finish()
                if !tail.isEmpty {
                    text += tail
                    _ = onEvent(.text(tail))
                }
            }
            return summary(reason, statistics: statistics, generated: generated, text: text,
                           generationSeconds: Self.seconds(since: generationStart), sequence: sequence, token: token)
        }

        while true {
            if generated.count >= job.maxTokens { return finish(.maxTokens) }
            if session.isCancelled { return finish(.cancelled) }
            // A NaN anywhere (not only at the sampled token) means the model's numbers broke.
            let finite = logits.withUnsafeBufferPointer { row in row.baseAddress.map { Kernels.allBelowInfinity($0, row.count) } ?? true }
            guard finite else { throw GenerationError.nonFiniteLogits(position: position - 1) }
            let token = logits.withUnsafeMutableBufferPointer { buffer -> Int32 in
                sampler.sample(logits: buffer, history: history)
            }
            guard Int(token) < vocabulary, logits[Int(token)].isFinite else {
                throw GenerationError.nonFiniteLogits(position: position - 1)
            }
            if stopTokens.contains(token) { return finish(.endOfGeneration, token: token) }
            generated.append(token)
            history.append(token)
            switch matcher.append(tokenizer.bytes(of: token)) {
            case let .emit(bytes):
                let piece = decoder.append(bytes)
                text += piece
                if onEvent(.token(GeneratedToken(id: token, index: generated.count - 1, text: piece))) == .stop {
                    return finish(.cancelled)
                }
            case let .stop(before, sequence):
                let piece = decoder.append(before) + decoder.finish()
                text += piece
                _ = onEvent(.token(GeneratedToken(id: token, index: generated.count - 1, text: piece)))
                return finish(.stopSequence, sequence: sequence)
            }
            if generated.count >= job.maxTokens { return finish(.maxTokens) }
            if position + 1 > model.contextLength { return finish(.contextFull) }
            if session.isCancelled { return finish(.cancelled) }
            try forward([token])
        }
    }

    private static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
