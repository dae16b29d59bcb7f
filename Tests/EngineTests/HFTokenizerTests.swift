import Foundation
import Testing
import TestSupport
@testable import Engine

struct MiniLMFixture: Decodable {
    struct TokenizerCase: Decodable { let text: String; let ids: [Int]; let tokens: [String] }
    struct Truncation: Decodable { let text: String; let max_length: Int; let ids: [Int] }
    struct EmbeddingCase: Decodable { let text: String; let ids: [Int]; let embedding: [Float] }
    let tokenizer: [TokenizerCase]
    let truncation: Truncation
    let embeddings: [EmbeddingCase]

    /// Written by scripts/make_minilm_fixtures.py (HF `tokenizers` + a numpy BERT).
    static func load() throws -> MiniLMFixture {
        guard let url = Bundle.module.url(forResource: "minilm_fixtures", withExtension: "json", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONDecoder().decode(MiniLMFixture.self, from: Data(contentsOf: url))
    }
}

@Suite struct WordPieceTokenizerTests {
    @Test(.enabled(if: TestModels.hasMiniLM)) func miniLMIdsEqualHuggingFaceTokenizers() throws {
        let folder = try #require(try TestModels.miniLM())
        let tokenizer = try HFTokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        let fixture = try MiniLMFixture.load()
        for c in fixture.tokenizer {
            let ids = tokenizer.encode(c.text).ids
            #expect(ids == c.ids, "text: \(c.text)")
            #expect(ids.map { tokenizer.token($0) ?? "?" } == c.tokens, "text: \(c.text)")
        }
        let t = fixture.truncation
        #expect(tokenizer.encode(t.text, maxLength: t.max_length).ids == t.ids)
    }

    @Test func normalizerLowercasesStripsAccentsAndSplitsChinese() {
        let bert = HFNormalizer.bert(cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true)
        #expect(bert.apply("Héllo\tWÖRLD\u{0007}") == "hello world")
        #expect(bert.apply("中文") == " 中  文 ")
        let cased = HFNormalizer.bert(cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false)
        #expect(cased.apply("Café") == "Café")
    }

    @Test func bertPreTokenizerIsolatesPunctuation() {
        let words = HFPreTokenizer.bert.apply([Array("Hi, there!! $5 a+b".unicodeScalars)])
        #expect(words.map { String(String.UnicodeScalarView($0)) } == ["Hi", ",", "there", "!", "!", "$", "5", "a", "+", "b"])
    }

    @Test func wordPieceGreedyLongestMatch() {
        let vocab = ["[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "unaff": 4, "##a": 5]
        let wp = WordPieceModel(vocab: vocab, unknownID: 0, continuingPrefix: "##", maxInputCharsPerWord: 10)
        var ids: [Int] = []
        wp.tokenize(Array("unaffable".unicodeScalars), into: &ids)
        #expect(ids == [4, 3])
        ids = []
        wp.tokenize(Array("unx".unicodeScalars), into: &ids)
        #expect(ids == [0])
        ids = []
        wp.tokenize(Array("unaffableunaffable".unicodeScalars), into: &ids)
        #expect(ids == [0])
    }
}
