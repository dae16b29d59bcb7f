import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import Training

/// One token per character (ids = Unicode scalar value mod 200 + 3); `<start_of_turn>` and
/// `<end_of_turn>` are single special tokens 1 and 2; BOS is 0.
private final class CharacterTokenizer: TextTokenizer {
    let endOfGenerationTokens: Set<Int32> = [2]
    func encode(_ text: String, addBeginningOfSequence: Bool, parseSpecialTokens: Bool) throws -> [Int32] {
        var out: [Int32] = addBeginningOfSequence ? [0] : []
        var rest = Substring(text)
        while let c = rest.first {
            if parseSpecialTokens, rest.hasPrefix("<start_of_turn>") {
                out.append(1)
                rest = rest.dropFirst("<start_of_turn>".count)
            } else if parseSpecialTokens, rest.hasPrefix("<end_of_turn>") {
                out.append(2)
                rest = rest.dropFirst("<end_of_turn>".count)
            } else {
                out.append(Int32(c.unicodeScalars.first.map { Int($0.value) % 200 } ?? 0) + 3)
                rest = rest.dropFirst()
            }
        }
        return out
    }
    func bytes(of token: Int32) -> [UInt8] {
        switch token {
        case 0: return []
        case 1: return Array("<start_of_turn>".utf8)
        case 2: return Array("<end_of_turn>".utf8)
        default: return [UInt8(token - 3)]
        }
    }
}

@Suite struct SFTFormattingTests {
    @Test func gemmaConversationScoresOnlyAssistantTurnsAndTheirEndMarker() throws {
        let tokenizer = CharacterTokenizer()
        let record = DatasetRecord.conversation([.system("Be brief."), .user("Hi"), .assistant("Yo"), .user("Name?"), .assistant("Ann")])
        let formatting = SFTFormatting(template: ChatTemplate(.gemma), endOfSequence: 99)
        let example = try formatting.tokenize(record, with: tokenizer)
        // The pieces put together are exactly the rendered conversation.
        let rendered = try ChatTemplate(.gemma).render([.system("Be brief."), .user("Hi"), .assistant("Yo"), .user("Name?"),
                                                        .assistant("Ann")], addGenerationPrompt: false)
        #expect(tokenizer.decode(example.tokens.map { Int32($0) }) == rendered)
        #expect(example.tokens.first == 0 && example.scored.first == false)
        let scoredText = tokenizer.decode(zip(example.tokens, example.scored).filter(\.1).map { Int32($0.0) })
        #expect(scoredText == "Yo<end_of_turn>\nAnn<end_of_turn>\n")
        // Gemma ends turns with <end_of_turn>: no extra EOS.
        #expect(!example.tokens.contains(99))

        let everything = SFTFormatting(template: ChatTemplate(.gemma), completionOnly: false, endOfSequence: nil)
        let all = try everything.tokenize(record, with: tokenizer)
        #expect(all.tokens == example.tokens && all.scored.dropFirst().allSatisfy { $0 })
    }

    @Test func plainPromptCompletionAppendsEOS() throws {
        let formatting = SFTFormatting(template: ChatTemplate(.none), endOfSequence: 99)
        let example = try formatting.tokenize(.promptCompletion(prompt: "ab", completion: "cd"), with: CharacterTokenizer())
        #expect(example.tokens == [0, 100, 101, 102, 103, 99])
        #expect(example.scored == [false, false, false, true, true, true])
    }

    @Test func padAndPackLayouts() throws {
        let a = TokenizedExample(tokens: [0, 5, 6, 7], scored: [false, false, true, true])
        let b = TokenizedExample(tokens: [0, 8, 9], scored: [false, true, true])
        let padded = SequenceLayout.pad.rows([a, b], length: 4, padToken: 1)
        #expect(padded == [TrainingRow(inputs: [0, 5, 6, 1], targets: [-100, 6, 7, -100]),
                           TrainingRow(inputs: [0, 8, 1, 1], targets: [8, 9, -100, -100])])
        let truncated = SequenceLayout.pad.rows([a], length: 2, padToken: 1)
        #expect(truncated == [TrainingRow(inputs: [0, 5], targets: [-100, 6])])
        let packed = SequenceLayout.pack.rows([a, b], length: 3, padToken: 1)
        // Stream 0 5 6 7 0 8 9: rows of 3 inputs, each target the next stream token.
        #expect(packed == [TrainingRow(inputs: [0, 5, 6], targets: [-100, 6, 7]),
                           TrainingRow(inputs: [7, 0, 8], targets: [-100, 8, 9])])
    }

    @Test func batchScheduleIsAFunctionOfTheStepAndVisitsEveryRowPerEpoch() throws {
        let rows = (0..<5).map { TrainingRow(inputs: [$0], targets: [$0]) }
        let schedule = try BatchSchedule(rows: rows, batchSize: 2, seed: 9)
        let firstFive = (schedule.batch(0) + schedule.batch(1) + [schedule.batch(2)[0]]).map { $0.inputs[0] }
        #expect(Set(firstFive) == Set(0..<5))
        let again = try BatchSchedule(rows: rows, batchSize: 2, seed: 9)
        #expect((0..<7).map { again.batch($0) } == (0..<7).map { schedule.batch($0) })
    }
}

@Suite struct LanguageModelTaskTests {
    static let config = DecoderConfig(vocabularySize: 13, hiddenSize: 16, layers: 2, heads: 2, kvHeads: 1, headDim: 8,
                                      intermediateSize: 24, activation: .silu)

    static func rows() -> [TrainingRow] {
        (0..<6).map { i in
            let seq = (0..<9).map { ($0 * (i + 1) + i) % 13 }
            return TrainingRow(inputs: Array(seq.dropLast()), targets: seq.dropFirst().enumerated().map { $0.offset < 2 ? -100 : $0.element })
        }
    }

    static func task(seed: UInt64 = 3) throws -> LanguageModelTask {
        let model = try DecoderModel(config: config, seed: seed)
        return try LanguageModelTask(model: model, rows: rows(), validationRows: Array(rows().prefix(2)),
                                     settings: LanguageModelTrainingSettings(batchSize: 2, accumulationSteps: 2,
                                                                             schedule: .constant(3e-3), seed: 5))
    }

    @Test func lossFallsAndAResumedRunRepeatsTheUninterruptedOne() throws {
        let straight = try Self.task()
        let losses = try (1...8).map { try straight.trainStep($0).loss }
        #expect(losses.last! < losses.first!)
        let validation = try #require(try straight.validationLoss())
        #expect(validation.isFinite)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whet-lm-task-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let first = try Self.task()
        for step in 1...4 { _ = try first.trainStep(step) }
        try first.saveCheckpoint(to: folder)
        // A fresh process would build the model from the same seed, then load the checkpoint.
        let resumed = try Self.task()
        try resumed.loadCheckpoint(from: folder)
        let tail = try (5...8).map { try resumed.trainStep($0).loss }
        #expect(tail == Array(losses[4...]))
    }

    @Test func pretrainedModelSavesAsAFolderTheLlamaDecoderLoads() throws {
        let model = try DecoderModel(config: Self.config, seed: 8)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whet-pretrain-\(UUID().uuidString)")
        let tokenizer = try DecoderModelFolder.byteLevelTokenizerJSON()
        try DecoderModelFolder.save(model, to: folder, maxPositions: 64, tokenizerJSON: tokenizer, bos: 12, eos: 12)
        let loaded = try HFDecoderLoader.load(folder: folder)
        let ids = [1, 5, 9, 2, 11, 0]
        let reference = try loaded.logits(ids).toArray()
        let g = Graph(recording: false)
        let mine = g.value(try model.logits(g, tokens: ids, sequenceLength: ids.count)).toArray()
        let maxDiff = zip(reference, mine).map { abs($0 - $1) }.max() ?? 1
        #expect(maxDiff < 1e-4)
        // And back as a trainable model with the same weights.
        let reopened = try DecoderModelFolder.load(folder)
        #expect(reopened.parameters.map(\.name) == model.parameters.map(\.name))
        #expect(reopened.parameters.allSatisfy { $0.value.toArray() == model.parameter($0.name)?.value.toArray() })

        // The byte-level tokenizer round-trips any text through 256 byte tokens.
        let hf = try HFTokenizer(json: tokenizer)
        #expect(hf.vocabularySize == 257)
        let text = "Tides rise — twice a day. ünïcode"
        let ids2 = hf.encode(text, addSpecialTokens: true, parseAddedTokens: true).ids
        #expect(ids2.first == 256 && ids2.count == text.utf8.count + 1)
        #expect(String(decoding: ids2.dropFirst().flatMap { hf.bytes(of: $0) }, as: UTF8.self) == text)
    }
}
