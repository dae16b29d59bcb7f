import Foundation
import Testing
@testable import Engine

@Suite struct StopSequenceTests {
    private func run(_ pieces: [String], stops: [String]) -> (emitted: String, stopped: String?) {
        var matcher = StopSequenceMatcher(stopSequences: stops)
        var out: [UInt8] = []
        for piece in pieces {
            switch matcher.append(Array(piece.utf8)) {
            case let .emit(bytes): out += bytes
            case let .stop(before, sequence): return (String(decoding: out + before, as: UTF8.self), sequence)
            }
        }
        out += matcher.finish()
        return (String(decoding: out, as: UTF8.self), nil)
    }

    @Test func stopSplitAcrossTwoTokensIsCaughtAndNotEmitted() {
        let r = run(["Hello EN", "D world"], stops: ["END"])
        #expect(r.emitted == "Hello ")
        #expect(r.stopped == "END")
    }

    @Test func heldBackTextIsReleasedWhenItTurnsOutNotToBeAStop() {
        var matcher = StopSequenceMatcher(stopSequences: ["\n\n"])
        #expect(matcher.append(Array("line\n".utf8)) == .emit(Array("line".utf8)))
        #expect(matcher.append(Array("next".utf8)) == .emit(Array("\nnext".utf8)))
        #expect(matcher.append(Array("\n".utf8)) == .emit([]))
        #expect(matcher.finish() == Array("\n".utf8))
    }

    @Test func earliestMatchWinsAndStopsSpanningManyTokens() {
        #expect(run(["a", "b", "c", "d"], stops: ["bcd", "cd"]) == ("a", "bcd"))
        #expect(run(["xx<end", "_of", "_turn>yy"], stops: ["<end_of_turn>"]) == ("xx", "<end_of_turn>"))
        #expect(run(["no stop here"], stops: ["zzz"]) == ("no stop here", nil))
    }

    @Test func multiByteCharactersAreNeverSplit() {
        var decoder = UTF8StreamDecoder()
        let bytes = Array("né😀".utf8)  // n, é (2 bytes), 😀 (4 bytes)
        var text = ""
        var partials: [String] = []
        for b in bytes {
            let piece = decoder.append([b])
            partials.append(piece)
            text += piece
        }
        text += decoder.finish()
        #expect(text == "né😀")
        #expect(partials == ["n", "", "é", "", "", "", "😀"])
    }
}

@Suite struct TextGeneratorTests {
    /// A NaN anywhere in the logits row fails the run, even where the sampler would not look
    /// (greedy picks the huge logit at token 3; the NaN sits at token 40). -inf is a masked logit, not an error.
    @Test func aNaNAnywhereInTheLogitsIsAnError() throws {
        for (bad, fails) in [(Float.nan, true), (Float.infinity, true), (-Float.infinity, false)] {
            let model = FakeLanguageModel(vocabularySize: 64) { _ in
                var logits = [Float](repeating: 0, count: 64)
                logits[3] = 100
                logits[40] = bad
                return logits
            }
            let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: (0..<64).map { "t\($0) " }))
            let job = GenerationJob(promptTokens: [1, 2], sampler: SamplerSettings(temperature: 0), maxTokens: 3)
            if fails {
                #expect(throws: GenerationError.nonFiniteLogits(position: 1)) { try generator.generate(job) }
            } else {
                #expect(try generator.generate(job).tokenIds == [3, 3, 3])
            }
        }
    }

    @Test func belowInfinityScanFindsEveryPosition() {
        var values = [Float](repeating: 1, count: 37)
        #expect(values.withUnsafeBufferPointer { Kernels.allBelowInfinity($0.baseAddress!, $0.count) })
        for k in [0, 15, 16, 31, 32, 36] {
            values[k] = .nan
            #expect(!values.withUnsafeBufferPointer { Kernels.allBelowInfinity($0.baseAddress!, $0.count) }, "NaN at \(k)")
            values[k] = -.infinity
            #expect(values.withUnsafeBufferPointer { Kernels.allBelowInfinity($0.baseAddress!, $0.count) })
            values[k] = 1
        }
    }

    static let words = ["<eos>", "Hel", "lo", " EN", "D", "!", " world", "<end_of_turn>", "a", "b", "c", "d"]

    private func scriptedGenerator(script: [Int32], promptLength: Int) -> (TextGenerator, FakeLanguageModel) {
        let model = FakeLanguageModel.scripted(vocabularySize: Self.words.count, promptLength: promptLength, script: script)
        let tokenizer = FakeTokenizer(pieces: Self.words, endOfGeneration: [0, 7])
        return (TextGenerator(model: model, tokenizer: tokenizer), model)
    }

    @Test func stopSequenceAcrossTokensEndsTheRunWithoutItsText() throws {
        let (generator, _) = scriptedGenerator(script: [1, 2, 3, 4, 5], promptLength: 2)
        let log = EventLog()
        let summary = try generator.generate(
            GenerationJob(promptTokens: [8, 9], sampler: .greedy, maxTokens: 20, stopSequences: ["END"])
        ) { log.append($0); return .proceed }
        #expect(summary.text == "Hello ")
        #expect(summary.stopReason == .stopSequence)
        #expect(summary.stopSequence == "END")
        #expect(summary.tokenIds == [1, 2, 3, 4])
        #expect(log.streamedText == "Hello ")
        #expect(!log.streamedText.contains("EN"))
    }

    @Test func endOfGenerationTokenStopsAndIsNotPartOfTheOutput() throws {
        let (generator, _) = scriptedGenerator(script: [1, 2, 6, 7, 5], promptLength: 1)
        let summary = try generator.generate(GenerationJob(promptTokens: [8], sampler: .greedy, maxTokens: 20))
        #expect(summary.text == "Hello world")
        #expect(summary.stopReason == .endOfGeneration)
        #expect(summary.stopToken == 7)
        #expect(summary.tokenIds == [1, 2, 6])
    }

    @Test func maxTokensLimitsTheRunAndHeldTextIsFlushed() throws {
        let (generator, _) = scriptedGenerator(script: [1, 2, 3, 6], promptLength: 1)
        let log = EventLog()
        let summary = try generator.generate(
            GenerationJob(promptTokens: [8], sampler: .greedy, maxTokens: 3, stopSequences: ["ENX"])
        ) { log.append($0); return .proceed }
        #expect(summary.stopReason == .maxTokens)
        #expect(summary.tokenIds.count == 3)
        // " EN" was held back as a possible start of "ENX" and released at the end.
        #expect(summary.text == "Hello EN")
        #expect(log.streamedText == "Hello EN")
        #expect(log.events.contains(.text("EN")))
    }

    @Test func seededRunsRepeatExactly() throws {
        func run(seed: UInt64) throws -> [Int32] {
            let model = FakeLanguageModel.pseudoRandom(vocabularySize: 64)
            let tokenizer = FakeTokenizer(pieces: (0..<64).map { "t\($0) " })
            let generator = TextGenerator(model: model, tokenizer: tokenizer)
            let settings = SamplerSettings(temperature: 1.1, topK: 20, topP: 0.9, minP: 0.02, repeatPenalty: 1.1, seed: seed)
            return try generator.generate(GenerationJob(promptTokens: [1, 2, 3], sampler: settings, maxTokens: 40)).tokenIds
        }
        let a = try run(seed: 42)
        #expect(a.count == 40)
        #expect(a == (try run(seed: 42)))
        #expect(a != (try run(seed: 43)))
    }

    @Test func sameSeedOnTheSameGeneratorRepeatsDespiteTheWarmCache() throws {
        let model = FakeLanguageModel.pseudoRandom(vocabularySize: 64)
        let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: (0..<64).map { "t\($0) " }))
        let job = GenerationJob(promptTokens: [5, 6, 7, 8], sampler: SamplerSettings(temperature: 0.9, seed: 1), maxTokens: 25)
        let first = try generator.generate(job)
        let second = try generator.generate(job)
        #expect(first.tokenIds == second.tokenIds)
        #expect(second.prompt.processedTokens == 1)
    }

    @Test func cancellingStopsWithinOneToken() throws {
        let model = FakeLanguageModel.pseudoRandom(vocabularySize: 32)
        model.delayPerForward = 0.005
        let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: (0..<32).map { "\($0)" }))
        let log = EventLog()
        let reachedThird = DispatchSemaphore(value: 0)
        let session = generator.start(GenerationJob(promptTokens: [1], sampler: SamplerSettings(seed: 3), maxTokens: 10_000)) { event in
            log.append(event)
            if case let .token(t) = event, t.index == 2 { reachedThird.signal() }
            return .proceed
        }
        reachedThird.wait()
        session.cancel()
        let tokensAtCancel = log.tokens.count
        let summary = try session.wait().get()
        #expect(summary.stopReason == .cancelled)
        #expect(summary.tokenIds.count - tokensAtCancel <= 1)
        #expect(log.tokens.count == summary.tokenIds.count)
    }

    @Test func answeringStopEndsTheRunAtThatToken() throws {
        let model = FakeLanguageModel.pseudoRandom(vocabularySize: 32)
        let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: (0..<32).map { "\($0)" }))
        let summary = try generator.generate(GenerationJob(promptTokens: [1], sampler: SamplerSettings(seed: 3), maxTokens: 100)) { event in
            if case let .token(t) = event, t.index == 4 { return .stop }
            return .proceed
        }
        #expect(summary.stopReason == .cancelled)
        #expect(summary.tokenIds.count == 5)
    }

    @Test func promptPrefixIsReusedBetweenRuns() throws {
        let model = FakeLanguageModel.pseudoRandom(vocabularySize: 40)
        let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: (0..<40).map { "\($0) " }))
        let prompt: [Int32] = Array(1...20)
        let first = try generator.generate(GenerationJob(promptTokens: prompt, sampler: SamplerSettings(temperature: 0.7, seed: 1), maxTokens: 5))
        #expect(first.prompt.processedTokens == 20 && first.prompt.reusedTokens == 0)
        #expect(model.processedTokens == 20 + 4)  // the last generated token is never fed back
        #expect(generator.cachedTokens == prompt + first.tokenIds.dropLast())

        // Same prompt, another temperature: only the last prompt token is recomputed.
        let before = model.processedTokens
        let second = try generator.generate(GenerationJob(promptTokens: prompt, sampler: SamplerSettings(temperature: 1.5, seed: 1), maxTokens: 5))
        #expect(second.prompt.processedTokens == 1 && second.prompt.reusedTokens == 19)
        #expect(model.processedTokens - before == 1 + 4)

        // A prompt that shares 12 tokens recomputes only the other 8.
        let edited = Array(prompt[..<12]) + [30, 31, 32, 33, 34, 35, 36, 37]
        let third = try generator.generate(GenerationJob(promptTokens: edited, sampler: .greedy, maxTokens: 1))
        #expect(third.prompt.reusedTokens == 12 && third.prompt.processedTokens == 8)

        // A follow-up that extends the previous prompt and answer (a chat turn) reuses all of it.
        let followUp = edited + third.tokenIds + [2, 3]
        let fourth = try generator.generate(GenerationJob(promptTokens: followUp, sampler: .greedy, maxTokens: 1))
        #expect(fourth.prompt.reusedTokens == edited.count && fourth.prompt.processedTokens == 3)
    }

    @Test func reuseGivesTheSameTokensAsAColdCache() throws {
        let prompt: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
        let job = GenerationJob(promptTokens: prompt, sampler: SamplerSettings(temperature: 0.8, seed: 9), maxTokens: 12)
        let warm = TextGenerator(model: FakeLanguageModel.pseudoRandom(vocabularySize: 50), tokenizer: FakeTokenizer(pieces: (0..<50).map { "\($0)" }))
        _ = try warm.generate(GenerationJob(promptTokens: Array(prompt[..<7]) + [40, 41], sampler: .greedy, maxTokens: 4))
        let reused = try warm.generate(job)
        let cold = try TextGenerator(model: FakeLanguageModel.pseudoRandom(vocabularySize: 50), tokenizer: FakeTokenizer(pieces: (0..<50).map { "\($0)" })).generate(job)
        #expect(reused.prompt.reusedTokens == 7)
        #expect(reused.tokenIds == cold.tokenIds)
    }

    @Test func aCacheThatCannotRollBackIsRecomputed() throws {
        let model = FakeLanguageModel.pseudoRandom(vocabularySize: 20)
        model.truncationFloor = 0
        let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: (0..<20).map { "\($0)" }))
        let prompt: [Int32] = [1, 2, 3, 4, 5, 6]
        _ = try generator.generate(GenerationJob(promptTokens: prompt, sampler: .greedy, maxTokens: 3))
        let again = try generator.generate(GenerationJob(promptTokens: prompt, sampler: .greedy, maxTokens: 3))
        #expect(again.prompt.reusedTokens == 0 && again.prompt.processedTokens == 6)
    }

    @Test func queuedSessionsRunOneAfterAnother() throws {
        let model = FakeLanguageModel.pseudoRandom(vocabularySize: 30)
        let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: (0..<30).map { "\($0)" }))
        let sessions = (0..<3).map { i in
            generator.start(GenerationJob(promptTokens: [1, 2, Int32(i)], sampler: SamplerSettings(seed: UInt64(i)), maxTokens: 6)) { _ in .proceed }
        }
        for s in sessions { #expect(try s.wait().get().tokenIds.count == 6) }
    }

    @Test func failuresAreReportedAndTheNextRunStartsClean() throws {
        let model = FakeLanguageModel.pseudoRandom(vocabularySize: 30)
        model.failAtPosition = 5
        let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: (0..<30).map { "\($0)" }))
        let log = EventLog()
        let result = generator.start(GenerationJob(promptTokens: [1, 2, 3], sampler: .greedy, maxTokens: 10)) { log.append($0); return .proceed }.wait()
        guard case let .failure(error) = result else { Issue.record("expected a failure"); return }
        #expect(error == .modelFailed("simulated failure"))
        #expect(log.events.last == .failed(.modelFailed("simulated failure")))
        #expect(generator.cachedTokens.isEmpty)
        model.failAtPosition = nil
        let next = try generator.generate(GenerationJob(promptTokens: [1, 2, 3], sampler: .greedy, maxTokens: 2))
        #expect(next.prompt.processedTokens == 3)
    }

    @Test func promptsLongerThanTheContextAndEmptyPromptsAreRejected() {
        let model = FakeLanguageModel.scripted(vocabularySize: 12, promptLength: 0, script: [], contextLength: 8)
        let generator = TextGenerator(model: model, tokenizer: FakeTokenizer(pieces: Self.words))
        #expect(throws: GenerationError.promptTooLong(tokens: 9, contextLength: 8)) {
            try generator.generate(GenerationJob(promptTokens: Array(repeating: 1, count: 9), sampler: .greedy))
        }
        #expect(throws: GenerationError.emptyPrompt) {
            try generator.generate(GenerationJob(promptTokens: [], sampler: .greedy))
        }
    }

    @Test func theRunEndsWhenTheContextIsFull() throws {
        let small = FakeLanguageModel(vocabularySize: 12, contextLength: 8) { _ in (0..<12).map { Float($0 % 5) } }
        let generator = TextGenerator(model: small, tokenizer: FakeTokenizer(pieces: Self.words, endOfGeneration: []))
        let summary = try generator.generate(GenerationJob(promptTokens: [1, 2, 3], sampler: .greedy, maxTokens: 100))
        #expect(summary.stopReason == .contextFull)
        #expect(generator.cachedTokens.count == 8)
        #expect(summary.tokenIds.count == 6)
    }
}
