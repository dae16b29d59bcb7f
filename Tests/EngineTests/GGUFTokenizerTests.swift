import Foundation
import Testing
@testable import Engine

// Tokenizers of the tiny family GGUFs (Fixtures/families, scripts/make_family_ggufs.py) against
// llama.cpp's llama-tokenize (scripts/make_family_llamacpp_refs.py → tokenize.jsonl).

private struct FamilyFixtureError: Error, CustomStringConvertible { let description: String }

private func familiesURL(_ name: String) throws -> URL {
    guard let dir = Bundle.module.url(forResource: "families", withExtension: nil, subdirectory: "Fixtures") else {
        throw FamilyFixtureError(description: "missing fixture folder Fixtures/families")
    }
    return dir.appendingPathComponent(name)
}

private struct TokenizeCase: Sendable {
    let model: String
    let text: String
    let addSpecial: Bool
    let parseSpecial: Bool
    let ids: [Int32]
}

private func tokenizeCases() throws -> [TokenizeCase] {
    let data = try Data(contentsOf: try familiesURL("tokenize.jsonl"))
    var out: [TokenizeCase] = []
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.isEmpty {
        guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let model = obj["model"] as? String, let text = obj["text"] as? String,
              let addSpecial = obj["add_special"] as? Bool, let parseSpecial = obj["parse_special"] as? Bool,
              let ids = obj["ids"] as? [Int] else {
            throw FamilyFixtureError(description: "bad line in tokenize.jsonl: \(line.prefix(80))")
        }
        out.append(TokenizeCase(model: model, text: text, addSpecial: addSpecial, parseSpecial: parseSpecial,
                                ids: ids.map { Int32($0) }))
    }
    return out
}

private func loadTokenizer(_ model: String) throws -> any GGUFTokenizer {
    try GGUFFile(path: try familiesURL(model).path).tokenizer()
}

/// The vocabularies of tokenize.jsonl.
private let familyVocabularies = [
    "gemma2-f32.gguf", "gemma3-f32.gguf", "llama-bpe-f32.gguf", "llama-spm-f32.gguf", "phi3-f32.gguf",
    "qwen2-f32.gguf", "qwen3-f32.gguf", "vocab-deepseek-llm.gguf", "vocab-default.gguf", "vocab-gpt-2.gguf",
    "vocab-phi-2.gguf", "vocab-smollm.gguf",
]

@Suite("GGUF tokenizers against llama.cpp")
struct GGUFTokenizerTests {
    @Test("every fixture vocabulary is covered")
    func fixtureCoversVocabularies() throws {
        let models = Set(try tokenizeCases().map(\.model))
        #expect(models == Set(familyVocabularies))
    }

    @Test("ids equal llama-tokenize's for every string and mode", arguments: familyVocabularies)
    func idsEqualLlamaCpp(model: String) throws {
        let tokenizer = try loadTokenizer(model)
        let cases = try tokenizeCases().filter { $0.model == model }
        #expect(cases.count == 156)
        for c in cases {
            let ids = tokenizer.encode(c.text, addSpecial: c.addSpecial, parseSpecial: c.parseSpecial)
            #expect(ids == c.ids, "\(model) add_special=\(c.addSpecial) parse_special=\(c.parseSpecial) \(c.text.debugDescription)")
        }
    }

    @Test("decode inverts encode", arguments: familyVocabularies)
    func decodeRoundTrip(model: String) throws {
        let tokenizer = try loadTokenizer(model)
        // With add_space_prefix, llama.cpp's SentencePiece path puts a `▁` after every special or
        // user-defined token it cuts out (and Phi-3's rule deletes whitespace after them), so texts
        // holding one cannot come back unchanged; every other text must.
        let spm = tokenizer as? SentencePieceTokenizer
        func lossy(_ ids: [Int32]) -> Bool {
            guard let spm, spm.addSpacePrefix else { return false }
            return ids.dropFirst().contains { [.control, .userDefined, .unknown].contains(spm.tokenType($0)) }
        }
        var checked = 0
        for text in Set(try tokenizeCases().map(\.text)) {
            let plain = tokenizer.encode(text, addBOS: true, parseSpecial: false)
            if !lossy(plain) {
                #expect(tokenizer.decode(plain, renderSpecial: false) == text, "\(model) \(text.debugDescription)")
                checked += 1
            }
            let special = tokenizer.encode(text, addBOS: false, parseSpecial: true)
            if !lossy([tokenizer.bosID] + special) {
                #expect(tokenizer.decode(special, renderSpecial: true) == text, "\(model) special \(text.debugDescription)")
                checked += 1
            }
        }
        #expect(checked >= 20)
    }

    @Test("prompt ids of llama.cpp's greedy and logits runs, on every model file")
    func promptIDsOfEvaluationFixtures() throws {
        var checked = 0
        for name in ["greedy.jsonl", "logits.jsonl"] {
            let data = try Data(contentsOf: try familiesURL(name))
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.isEmpty {
                let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let model = try #require(obj["model"] as? String)
                let prompt = try #require(obj["prompt"] as? String)
                let ids = try #require(obj["prompt_ids"] as? [Int]).map { Int32($0) }
                let tokenizer = try loadTokenizer(model)
                #expect(tokenizer.encode(prompt, addSpecial: true, parseSpecial: true) == ids, "\(name) \(model) \(prompt.debugDescription)")
                if let generated = obj["generated_ids"] as? [Int], let text = obj["text"] as? String, !text.contains("\u{FFFD}") {
                    #expect(tokenizer.decode(generated.map { Int32($0) }, renderSpecial: false) == text, "\(model) \(prompt.debugDescription)")
                }
                checked += 1
            }
        }
        #expect(checked == 87 + 29)
    }

    @Test("the file's tokenizer kind, BOS/EOS flags and end-of-generation tokens")
    func kindsAndFlags() throws {
        let llama3 = try #require(try loadTokenizer("llama-bpe-f32.gguf") as? ByteLevelBPETokenizer)
        #expect(llama3.preTokenizer.kind == .llama3 && llama3.preTokenizer.ignoreMerges)
        #expect(llama3.addBOSByDefault && !llama3.addEOSByDefault)
        #expect(llama3.tokenText(llama3.bosID) == "<|begin_of_text|>")
        let eot = try #require(llama3.id(of: "<|eot_id|>"))
        #expect(llama3.isEndOfGeneration(eot) && llama3.isControl(eot))

        let qwen = try #require(try loadTokenizer("qwen2-f32.gguf") as? ByteLevelBPETokenizer)
        #expect(qwen.preTokenizer.kind == .qwen2 && !qwen.addBOSByDefault)
        let think = try #require(qwen.id(of: "<think>"))
        #expect(qwen.encode("<think>", addBOS: false, parseSpecial: false) == [think])  // user-defined: both modes

        let deflt = try loadTokenizer("vocab-default.gguf")
        #expect(deflt.addEOSByDefault)
        #expect(deflt.encode("hi", addSpecial: true, parseSpecial: true).last == deflt.eosID)

        #expect(try loadTokenizer("llama-spm-f32.gguf") is SentencePieceTokenizer)
        // TextTokenizer conformance: generation can take either.
        let generic: any TextTokenizer = llama3
        #expect(try generic.encode("Hello world", addBeginningOfSequence: true, parseSpecialTokens: true).first == llama3.bosID)
        #expect(generic.decode(llama3.encode("Hello world", addBOS: false, parseSpecial: false)) == "Hello world")
    }

    @Test("pre-tokenizer splits as llama.cpp's regexes")
    func preTokenizerSplits() throws {
        func split(_ name: String, _ text: String) throws -> [String] {
            let pre = try #require(GGUFPreTokenizer(name: name))
            return pre.split(Array(text.unicodeScalars)).map { String(String.UnicodeScalarView($0)) }
        }
        #expect(try split("llama-bpe", "Hello 12345 world's  x\n\n y") == ["Hello", " ", "123", "45", " world", "'s", " ", " x", "\n\n", " y"])
        #expect(try split("qwen2", "a 123") == ["a", " ", "1", "2", "3"])
        #expect(try split("gpt-2", "Hello 12345 it's") == ["Hello", " 12345", " it", "'s"])
        #expect(try split("smollm", "x 123") == ["x", " ", "1", "2", "3"])
        #expect(try split("default", "a+b=1234567!") == ["a", "+", "b", "=", "123", "456", "7", "!"])
        #expect(try split("deepseek-llm", "Hi 你好\n42") == ["Hi", " ", "你好", "\n", "42"])
        #expect(GGUFPreTokenizer(name: nil)?.kind == .default)
    }

    @Test("an unknown pre-tokenizer or tokenizer model is a one-line error naming what is supported")
    func unknownNames() throws {
        let source = try familiesURL("vocab-gpt-2.gguf")
        let original = try GGUFFile(path: source.path)
        func rewritten(_ key: String, _ value: String) throws -> GGUFFile {
            var writer = GGUFWriter()
            for k in original.metadata.keys where k != key {
                if let v = original.metadata[k] { writer.set(k, v) }
            }
            writer.set(key, .string(value))
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("whet-\(UUID().uuidString).gguf")
            try writer.write(to: url)
            return try GGUFFile(path: url.path)
        }
        let badPre = try rewritten("tokenizer.ggml.pre", "made-up-pre")
        #expect(throws: GGUFTokenizerError.unsupportedPreTokenizer(path: badPre.path, name: "made-up-pre")) {
            _ = try badPre.tokenizer()
        }
        let message = GGUFTokenizerError.unsupportedPreTokenizer(path: "m.gguf", name: "made-up-pre").description
        #expect(!message.contains("\n") && message.contains("made-up-pre") && message.contains("llama-bpe")
                && message.contains("qwen2") && message.contains("deepseek-llm"))

        let badModel = try rewritten("tokenizer.ggml.model", "t5")
        #expect(throws: GGUFTokenizerError.unsupportedModel(path: badModel.path, model: "t5")) {
            _ = try badModel.tokenizer()
        }
        #expect(GGUFTokenizerError.unsupportedModel(path: "m.gguf", model: "t5").description.contains("'gpt2'"))
    }
}
