import Foundation
import Testing
import TestSupport
@testable import Engine

/// Reference outputs of scripts/make_tiny_models.py (float64 numpy over the stored weights).
struct TinyReference: Decodable {
    struct TokenizerCase: Decodable { let text: String; let ids: [Int] }
    struct PretokenizeCase: Decodable { let text: String; let pieces: [String] }
    let input_ids: [Int]
    let output: [[Float]]
    let tokenizer_cases: [TokenizerCase]?
    let tokenizer_cases_without_special: [TokenizerCase]?
    let pretokenize_cases: [PretokenizeCase]?

    static func folder(_ name: String) throws -> URL {
        guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else { throw CocoaError(.fileNoSuchFile) }
        return root.appendingPathComponent(name)
    }

    static func load(_ name: String) throws -> TinyReference {
        try JSONDecoder().decode(TinyReference.self, from: Data(contentsOf: folder(name).appendingPathComponent("reference.json")))
    }
}

private func maxAbsDifference(_ t: Tensor, _ reference: [[Float]]) -> Float {
    var worst: Float = 0
    for (i, row) in reference.enumerated() {
        for (j, v) in row.enumerated() { worst = max(worst, abs(t[i, j] - v)) }
    }
    return worst
}

@Suite struct TinyDecoderTests {
    @Test(arguments: ["tiny-gpt2", "tiny-llama", "tiny-qwen2"])
    func logitsMatchNumpy(name: String) throws {
        let reference = try TinyReference.load(name)
        let model = try HFDecoderLoader.load(folder: TinyReference.folder(name))
        let logits = try model.logits(reference.input_ids)
        #expect(logits.shape == [reference.input_ids.count, model.config.vocabSize])
        // Tolerance 1e-4 absolute on logits of magnitude up to ~5 (float32 engine vs float64 numpy).
        let diff = maxAbsDifference(logits, reference.output)
        #expect(diff < 1e-4, "\(name): max |Δlogit| = \(diff)")
    }

    @Test(arguments: ["tiny-gpt2", "tiny-llama", "tiny-qwen2"])
    func cachedIncrementalDecodingEqualsTheFullPass(name: String) throws {
        let reference = try TinyReference.load(name)
        let model = try HFDecoderLoader.load(folder: TinyReference.folder(name))
        let cache = model.makeCache(capacity: 32)
        let ids = reference.input_ids
        let first = try model.forward(Array(ids[0..<5]), cache: cache)
        var rows: [[Float]] = (0..<5).map { i in (0..<model.config.vocabSize).map { first[i, $0] } }
        for id in ids[5...] {
            let step = try model.forward([id], cache: cache)
            rows.append((0..<model.config.vocabSize).map { step[0, $0] })
        }
        #expect(cache.count == ids.count)
        let full = try model.logits(ids)
        #expect(maxAbsDifference(full, rows) < 1e-5)
        // A rolled-back cache recomputes the same suffix.
        cache.truncate(to: 3)
        let again = try model.forward(Array(ids[3...]), cache: cache)
        for j in 0..<model.config.vocabSize { #expect(abs(again[again.shape[0] - 1, j] - full[ids.count - 1, j]) < 1e-5) }
    }

    @Test func badInputsAreErrors() throws {
        let model = try HFDecoderLoader.load(folder: TinyReference.folder("tiny-gpt2"))
        #expect(throws: TensorError.self) { try model.logits([model.config.vocabSize]) }
        #expect(throws: DecoderKVCache.CacheError.self) { try model.forward([1, 2, 3], cache: model.makeCache(capacity: 2)) }
        #expect(throws: ModelError.emptyInput) { try model.logits([]) }
    }

    @Test func configsDescribeTheirArchitecture() throws {
        let llama = try HFModelConfig(contentsOf: TinyReference.folder("tiny-llama").appendingPathComponent("config.json"))
        #expect(llama.numKeyValueHeads == 2 && llama.tieWordEmbeddings && llama.architecture == .decoderOnly)
        let qwen = try HFModelConfig(contentsOf: TinyReference.folder("tiny-qwen2").appendingPathComponent("config.json"))
        #expect(qwen.attentionBias && qwen.numKeyValueHeads == 1 && qwen.ropeScaling == .linear(factor: 2))
    }
}

@Suite struct TinyBERTTests {
    @Test func hiddenStatesMatchNumpy() throws {
        let reference = try TinyReference.load("tiny-bert")
        let model = try BERTModel(folder: TinyReference.folder("tiny-bert"))
        let states = try model.hiddenStates(ids: reference.input_ids)
        let diff = maxAbsDifference(states, reference.output)
        #expect(diff < 1e-4, "max |Δ| = \(diff)")
    }

    @Test func paddingMaskHidesPaddedKeys() throws {
        let reference = try TinyReference.load("tiny-bert")
        let model = try BERTModel(folder: TinyReference.folder("tiny-bert"))
        let ids = reference.input_ids
        let padded = try model.hiddenStates(ids: ids + [0, 0, 0], attentionMask: [Int](repeating: 1, count: ids.count) + [0, 0, 0])
        let plain = try model.hiddenStates(ids: ids)
        for i in 0..<ids.count { for j in 0..<model.config.hiddenSize { #expect(abs(padded[i, j] - plain[i, j]) < 1e-5) } }
    }
}

@Suite struct ByteLevelBPETests {
    @Test(arguments: ["tiny-gpt2", "tiny-llama", "tiny-qwen2"])
    func idsEqualHuggingFaceTokenizers(name: String) throws {
        let reference = try TinyReference.load(name)
        let tokenizer = try HFTokenizer(contentsOf: TinyReference.folder(name).appendingPathComponent("tokenizer.json"))
        for c in reference.tokenizer_cases ?? [] {
            #expect(tokenizer.encode(c.text).ids == c.ids, "\(name): \(c.text)")
        }
        for c in reference.tokenizer_cases_without_special ?? [] {
            let ids = tokenizer.encode(c.text, addSpecialTokens: false).ids
            #expect(ids == c.ids, "\(name): \(c.text)")
            #expect(tokenizer.decode(ids) == c.text, "\(name): decode of \(c.text)")
        }
    }

    @Test(arguments: ["tiny-gpt2", "tiny-llama", "tiny-qwen2"])
    func preTokenizerPiecesEqualHuggingFaceTokenizers(name: String) throws {
        let reference = try TinyReference.load(name)
        let tokenizer = try HFTokenizer(contentsOf: TinyReference.folder(name).appendingPathComponent("tokenizer.json"))
        let table = ByteLevelMap.byteToScalar()
        for c in reference.pretokenize_cases ?? [] {
            let words = tokenizer.preTokenizer?.apply([Array(c.text.unicodeScalars)]) ?? []
            let pieces = words.map { w in
                String(String.UnicodeScalarView(String(String.UnicodeScalarView(w)).utf8.map { table[Int($0)] }))
            }
            #expect(pieces == c.pieces, "\(name): \(c.text)")
        }
    }

    @Test func specialTokensInTextAreMatchedWhole() throws {
        let tokenizer = try HFTokenizer(contentsOf: TinyReference.folder("tiny-llama").appendingPathComponent("tokenizer.json"))
        let eot = try #require(tokenizer.id(of: "<|eot_id|>"))
        let ids = tokenizer.encode("hi<|eot_id|>", addSpecialTokens: false).ids
        #expect(ids.last == eot)
        #expect(tokenizer.isSpecial(eot))
        #expect(tokenizer.decode(ids) == "hi")
    }
}

@Suite struct HFGenerationAdapterTests {
    @Test(arguments: ["tiny-gpt2", "tiny-llama"])
    func lastTokenLogitsAndCacheRollback(name: String) throws {
        let reference = try TinyReference.load(name)
        let (model, tokenizer) = try HFGenerationLoader.load(folder: TinyReference.folder(name), contextLength: 32)
        let ids = reference.input_ids.map { Int32($0) }
        var logits = [Float](repeating: 0, count: model.vocabularySize)
        try logits.withUnsafeMutableBufferPointer { try model.forward(tokens: Array(ids[0..<6]), startingAt: 0, logits: $0) }
        try logits.withUnsafeMutableBufferPointer { try model.forward(tokens: Array(ids[6...]), startingAt: 6, logits: $0) }
        let last = reference.output[ids.count - 1]
        #expect(zip(logits, last).map { abs($0 - $1) }.max() ?? 1 < 1e-4)
        #expect(model.truncateCache(to: 4) == 4)
        // Running from an earlier position rolls the cache back to it.
        try logits.withUnsafeMutableBufferPointer { try model.forward(tokens: Array(ids[2...]), startingAt: 2, logits: $0) }
        #expect(zip(logits, last).map { abs($0 - $1) }.max() ?? 1 < 1e-4)
        #expect(throws: HFCausalLanguageModel.PositionError.self) {
            try logits.withUnsafeMutableBufferPointer { try model.forward(tokens: [1], startingAt: 40, logits: $0) }
        }
        let text = "Hello world"
        let encoded = try tokenizer.encode(text, addBeginningOfSequence: false, parseSpecialTokens: true)
        #expect(tokenizer.decode(encoded) == text)
    }

    @Test func llamaBeginningOfTextAndStopTokens() throws {
        let (_, tokenizer) = try HFGenerationLoader.load(folder: TinyReference.folder("tiny-llama"))
        let bos = try #require(tokenizer.tokenizer.id(of: "<|begin_of_text|>"))
        let eot = try #require(tokenizer.tokenizer.id(of: "<|eot_id|>"))
        #expect(try tokenizer.encode("hi", addBeginningOfSequence: true, parseSpecialTokens: true).first == Int32(bos))
        #expect(try tokenizer.encode("hi", addBeginningOfSequence: false, parseSpecialTokens: true).first != Int32(bos))
        #expect(tokenizer.endOfGenerationTokens.contains(Int32(eot)))
        #expect(try tokenizer.encode("<|eot_id|>", addBeginningOfSequence: false, parseSpecialTokens: true) == [Int32(eot)])
        #expect(try tokenizer.encode("<|eot_id|>", addBeginningOfSequence: false, parseSpecialTokens: false).count > 1)
    }
}
