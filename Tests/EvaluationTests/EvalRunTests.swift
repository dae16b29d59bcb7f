import Engine
import Foundation
import Testing
import TestSupport
@testable import Evaluation

/// A causal model whose cache is the token list and whose next-token logits are a function of the
/// cache; counts processed tokens so tests can prove cache reuse.
private final class TableModel: CausalLanguageModel, @unchecked Sendable {
    let vocabularySize: Int
    let contextLength = 256
    let maximumBatchSize = 4
    let next: ([Int32]) -> [Float]
    private(set) var cache: [Int32] = []
    private(set) var processed = 0

    init(vocabularySize: Int, next: @escaping ([Int32]) -> [Float]) {
        self.vocabularySize = vocabularySize
        self.next = next
    }

    func forward(tokens: [Int32], startingAt position: Int, logits: UnsafeMutableBufferPointer<Float>) throws {
        guard position == cache.count, tokens.count <= maximumBatchSize else {
            throw GenerationError.modelFailed("forward at \(position) with \(tokens.count) tokens; cache holds \(cache.count)")
        }
        cache += tokens
        processed += tokens.count
        for (i, v) in next(cache).enumerated() { logits[i] = v }
    }

    func truncateCache(to count: Int) -> Int {
        let kept = min(count, cache.count)
        cache.removeSubrange(kept...)
        return kept
    }
}

/// One token per character of a small alphabet; token 0 is BOS, token 1 is end of generation.
private final class CharacterTokenizer: TextTokenizer, @unchecked Sendable {
    /// BOS, EOS, newline, then printable ASCII.
    static let alphabet: [Character] = ["\u{1}", "\u{2}", "\n"] + (32...126).compactMap { Unicode.Scalar($0).map(Character.init) }
    let endOfGenerationTokens: Set<Int32> = [1]

    func encode(_ text: String, addBeginningOfSequence: Bool, parseSpecialTokens: Bool) throws -> [Int32] {
        var ids: [Int32] = addBeginningOfSequence ? [0] : []
        for c in text {
            guard let i = Self.alphabet.firstIndex(of: c) else {
                throw GenerationError.invalidConversation("character \(c) is not in the test alphabet")
            }
            ids.append(Int32(i))
        }
        return ids
    }

    func bytes(of token: Int32) -> [UInt8] {
        token >= 2 && Int(token) < Self.alphabet.count ? Array(String(Self.alphabet[Int(token)]).utf8) : []
    }

    static func id(_ c: Character) -> Int32 { Int32(alphabet.firstIndex(of: c) ?? 0) }
}

@Suite struct EvalRunTests {
    private static let vocabulary = CharacterTokenizer.alphabet.count

    /// Logits that depend on the last two tokens, different for every context.
    private static func varied(_ cache: [Int32]) -> [Float] {
        let a = Float(cache.last ?? 0), b = Float(cache.dropLast().last ?? 0)
        return (0..<vocabulary).map { i in sin(Float(i) * 0.7 + a * 1.3) * 2 + cos(Float(i) * b * 0.11) }
    }

    private static func logSoftmax(_ logits: [Float], _ index: Int32) -> Double {
        let m = Double(logits.max() ?? 0)
        let sum = logits.reduce(0.0) { $0 + exp(Double($1) - m) }
        return Double(logits[Int(index)]) - m - log(sum)
    }

    @Test func continuationLogLikelihoodsAreSumsOfLogSoftmaxAndTheContextRunsOnce() throws {
        let model = TableModel(vocabularySize: Self.vocabulary, next: Self.varied)
        let generator = TextGenerator(model: model, tokenizer: CharacterTokenizer())
        let context: [Int32] = [0, 5, 6, 7, 8, 9, 10]
        let continuations: [[Int32]] = [[3, 4], [11], [12, 13, 14]]
        let scores = try generator.scoreContinuations(context: context, continuations: continuations)
        for (k, continuation) in continuations.enumerated() {
            var expected = 0.0
            var history = context
            for token in continuation {
                expected += Self.logSoftmax(Self.varied(history), token)
                history.append(token)
            }
            #expect(abs(scores[k].logLikelihood - expected) < 1e-9, "continuation \(k)")
            #expect(scores[k].tokens == continuation.count)
        }
        // The context once, then the continuation tokens that feed later ones (2-1 + 0 + 3-1).
        #expect(model.processed == context.count + 1 + 0 + 2)
        // The same context again: only its last token is recomputed (its logits score the answer).
        let before = model.processed
        let again = try generator.scoreContinuations(context: context, continuations: [[11]])
        #expect(again[0].logLikelihood == scores[1].logLikelihood)
        #expect(model.processed - before == 1)
    }

    @Test func greedyFlagFollowsTheArgmax() throws {
        let model = TableModel(vocabularySize: Self.vocabulary) { _ in
            (0..<Self.vocabulary).map { $0 == 4 ? 5 : 0 }
        }
        let generator = TextGenerator(model: model, tokenizer: CharacterTokenizer())
        let scores = try generator.scoreContinuations(context: [0, 5], continuations: [[4, 4], [4, 3]])
        #expect(scores[0].isGreedy)
        #expect(!scores[1].isGreedy)
        #expect(throws: GenerationError.self) { try generator.scoreContinuations(context: [], continuations: [[4]]) }
    }

    @Test func multipleChoicePicksTheLetterTheModelPrefers() throws {
        // The model always prefers "C" after "Answer:"-like contexts, so questions answered C are right.
        let c = CharacterTokenizer.id("C")
        let model = TableModel(vocabularySize: Self.vocabulary) { _ in
            (0..<Self.vocabulary).map { Int32($0) == c ? 3 : 0 }
        }
        let generator = TextGenerator(model: model, tokenizer: CharacterTokenizer())
        let questions = [
            MultipleChoiceQuestion(question: "which", choices: ["a", "b", "c", "d"], answer: 2, line: 1),
            MultipleChoiceQuestion(question: "what", choices: ["a", "b", "c", "d"], answer: 0, line: 2),
            MultipleChoiceQuestion(question: "why", choices: ["a", "b", "c", "d"], answer: 2, line: 3),
        ]
        let evaluation = MultipleChoiceEvaluation(shots: 1)
        var seen: [Double] = []
        let result = try evaluation.evaluate(questions: questions, fewShotPool: nil, generator: generator) { p in
            seen.append(p.accuracy)
            return .proceed
        }
        #expect(result.outcomes.map(\.predicted) == [2, 2, 2])
        #expect(MultipleChoiceScoring.summary(result.outcomes).overall.accuracy == 2.0 / 3.0)
        #expect(seen == [1, 0.5, 2.0 / 3.0])
        // The continuation is the letter after a space, split off the context as the harness does.
        let pair = try evaluation.encode(context: "Answer: ", continuations: ["B"], tokenizer: CharacterTokenizer())
        #expect(pair.continuations == [[CharacterTokenizer.id(" "), CharacterTokenizer.id("B")]])
        #expect(pair.context.last == CharacterTokenizer.id(":"))
    }

    // MARK: - Eval runs

    private func folder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("whet-evalrun-\(UUID().uuidString)")
    }

    /// A model that answers "abc" after the prompt's last "?" and then stops, whatever the prompt.
    private func answeringGenerator() -> TextGenerator {
        let script: [Character] = ["a", "b", "c"]
        let model = TableModel(vocabularySize: Self.vocabulary) { cache in
            let question = cache.lastIndex(of: CharacterTokenizer.id("?")) ?? cache.count - 1
            let step = cache.count - 1 - question
            let token = step < script.count ? CharacterTokenizer.id(script[step]) : 1
            return (0..<Self.vocabulary).map { Int32($0) == token ? 10 : 0 }
        }
        return TextGenerator(model: model, tokenizer: CharacterTokenizer())
    }

    private func write(_ lines: [String]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("whet-evaldata-\(UUID().uuidString).jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func run(_ data: String, _ out: URL, policy: EvalLinePolicy = .stop) -> EvalRun {
        let generator = answeringGenerator()
        var prompt = PromptFile(template: "q {{prompt}}?", chatTemplate: "none")
        prompt.sampler.temperature = 0
        prompt.maxTokens = 8
        return EvalRun(generator: generator, chat: ChatTemplate(.none), addBeginningOfSequence: true, dataPath: data,
                       prompt: prompt, evaluation: TextEvaluation(metrics: [.exactMatch, .rouge1], onMalformedLine: policy),
                       outputFolder: out)
    }

    @Test func evalRunGeneratesScoresAndWritesEachRow() throws {
        let data = try write([#"{"id":"x","prompt":"one","reference":"abc"}"#,
                              #"{"prompt":"two","references":["zzz","abc d"]}"#,
                              #"{"messages":[{"role":"user","content":"three"},{"role":"assistant","content":"b"}]}"#])
        let out = folder()
        let report = try run(data, out).run()
        #expect(report.examples.map(\.id) == ["x", "2", "3"])
        #expect(report.examples.map { $0.exactMatch ?? -1 } == [1, 0, 0])
        #expect(report.corpus.exactMatch == 1.0 / 3.0)
        let rows = try EvalRun.readRows(out.appendingPathComponent("predictions.jsonl"))
        #expect(rows.map(\.prediction) == ["abc", "abc", "abc"])
        #expect(rows[2].prompt == "q three?")
        #expect(rows[0].stopReason == GenerationStopReason.endOfGeneration.rawValue)
        // predictions.jsonl is itself a `whet eval text` input and gives the same scores.
        let rescored = try TextEvaluation(metrics: [.exactMatch, .rouge1]).evaluate(file: out.appendingPathComponent("predictions.jsonl").path)
        #expect(rescored.examples.map(\.exactMatch) == report.examples.map(\.exactMatch))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.json").path))
    }

    @Test(.enabled(if: TestModels.hasGemma)) func malformedLineStopsAfterKeepingEarlierRowsOrIsSkipped() throws {
        let data = try write([#"{"prompt":"one","reference":"abc"}"#, #"{"prompt": "two""#, #"{"prompt":"three","reference":"abc"}"#])
        let stopped = try run(data, folder()).run()
        #expect(stopped.examples.count == 1)
        #expect(stopped.stoppedAt?.line == 2)
        #expect(stopped.stoppedAt?.description.contains(data) == true)
        let skipped = try run(data, folder(), policy: .skip).run()
        #expect(skipped.examples.map(\.id) == ["1", "3"])
        #expect(skipped.skipped.map(\.line) == [2])
    }

    @Test func anInterruptedRunResumesWithoutRedoingFinishedExamples() throws {
        let data = try write(["a", "b", "c", "d"].map { #"{"prompt":"p\#($0)","reference":"abc"}"# })
        let out = folder()
        let first = run(data, out)
        let partial = try first.run { event in
            if case let .scored(_, _, done, _) = event, done == 2 { first.cancel() }
        }
        #expect(partial.cancelled)
        #expect(partial.examples.count == 2)
        // A crash mid-write leaves a torn last line: it is dropped and generated again.
        let predictions = out.appendingPathComponent("predictions.jsonl")
        let handle = try FileHandle(forWritingTo: predictions)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"id":"3","line":3,"pre"#.utf8))
        try handle.close()

        var events: [String] = []
        let resumed = try run(data, out).run { event in
            switch event {
            case let .started(total, already): events.append("started \(total) \(already)")
            case let .scored(row, _, done, _): events.append("scored \(row.id) \(done)")
            default: break
            }
        }
        #expect(events == ["started 4 2", "scored 3 3", "scored 4 4"])
        #expect(resumed.isComplete)
        #expect(resumed.examples.map(\.id) == ["1", "2", "3", "4"])
        #expect(try EvalRun.readRows(predictions).count == 4)
    }

    // MARK: - Real model

    @Test func gemmaLogLikelihoodsAreConsistentAndSensible() throws {
        let url = try #require(try TestModels.gemma())
        let loaded = try LoadedTextModel.open(url, contextLength: 512)
        let tokenizer = loaded.generator.tokenizer
        let evaluation = MultipleChoiceEvaluation(shots: 0, addBeginningOfSequence: loaded.addsBeginningOfSequence)
        let context = "The capital of France is"
        let answers = [" Paris", " a banana split", " Berlin"]
        let encoded = try evaluation.encode(context: context, continuations: answers, tokenizer: tokenizer)
        let shared = try loaded.generator.scoreContinuations(context: encoded.context, continuations: encoded.continuations)
        #expect(shared[0].logLikelihood > shared[2].logLikelihood)
        #expect(shared[2].logLikelihood > shared[1].logLikelihood)
        #expect(shared.allSatisfy { $0.logLikelihood < 0 && $0.logLikelihood.isFinite })
        // Scoring one continuation from an empty cache gives the same number as the shared run,
        // up to float rounding of the batched versus token-by-token paths.
        loaded.generator.resetCache()
        let cold = try loaded.generator.scoreContinuations(context: encoded.context, continuations: [encoded.continuations[1]])
        #expect(abs(cold[0].logLikelihood - shared[1].logLikelihood) < 0.05,
                "cold \(cold[0].logLikelihood) vs shared \(shared[1].logLikelihood)")
    }
}
