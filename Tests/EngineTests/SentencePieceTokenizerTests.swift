import Foundation
import Testing
import TestSupport
@testable import Engine

// MARK: - A small hand-made vocabulary (runs everywhere, no model needed)

/// ids: 0 <pad>, 1 <eos>, 2 <bos>, 3 <unk>, 4 <start> (control), 5 "\n" and 6 "  " (user-defined),
/// 7 "QR" and 8 "RST" (user-defined, overlapping), 9... the 256 byte tokens, then normal pieces.
private struct TinyVocabulary {
    var tokens: [String] = ["<pad>", "<eos>", "<bos>", "<unk>", "<start>", "\n", "  ", "QR", "RST"]
    var types: [SentencePieceTokenizer.TokenType] = [.control, .control, .control, .unknown, .control,
                                                     .userDefined, .userDefined, .userDefined, .userDefined]
    var scores: [Float] = Array(repeating: 0, count: 9)

    init(normal: [(String, Float)]) {
        for b in 0..<256 {
            tokens.append(String(format: "<0x%02X>", b))
            types.append(.byte)
            scores.append(0)
        }
        for (text, score) in normal {
            tokens.append(text)
            types.append(.normal)
            scores.append(score)
        }
    }

    func tokenizer(addSpacePrefix: Bool = false) throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(tokens: tokens, scores: scores, types: types,
                                   configuration: .init(bosID: 2, eosID: 1, unknownID: 3, padID: 0,
                                                        addBOS: true, addSpacePrefix: addSpacePrefix))
    }
}

private let tiny = TinyVocabulary(normal: [
    ("▁", -1), ("a", -2), ("b", -2), ("c", -2), ("d", -2), ("<", -3), (">", -3), ("s", -3), ("t", -3),
    ("ab", -1.5), ("bc", -1.0), ("abc", -2.5), ("▁a", -0.5), ("aa", -1), ("x", -2), ("▁x", -1),
])

@Suite struct SentencePieceSyntheticTests {
    func ids(_ t: SentencePieceTokenizer, _ pieces: String...) -> [Int32] {
        pieces.map { t.id(of: $0) ?? -1 }
    }

    @Test func mergesTheBestScoringPairFirst() throws {
        let t = try tiny.tokenizer()
        // "bc" (-1.0) beats "ab" (-1.5); then "a"+"bc" forms "abc".
        #expect(t.encode("abc", addBOS: false, parseSpecial: false) == ids(t, "abc"))
        // Equal scores merge the leftmost pair first.
        #expect(t.encode("aaa", addBOS: false, parseSpecial: false) == ids(t, "aa", "a"))
        // Spaces become ▁ and merge like any character.
        #expect(t.encode("a a", addBOS: false, parseSpecial: false) == ids(t, "a", "▁a"))
        #expect(t.encode("abc", addBOS: true, parseSpecial: false) == [2] + ids(t, "abc"))
    }

    @Test func unknownCharactersFallBackToBytes() throws {
        let t = try tiny.tokenizer()
        let encoded = t.encode("aé", addBOS: false, parseSpecial: false)
        #expect(encoded == ids(t, "a", "<0xC3>", "<0xA9>"))
        #expect(t.decode(encoded) == "aé")
        #expect(t.pieceBytes(t.id(of: "<0xC3>") ?? -1) == [0xC3])
    }

    @Test func userDefinedTokensAreAlwaysSplitOutControlTokensOnlyWhenParsingSpecial() throws {
        let t = try tiny.tokenizer()
        #expect(t.encode("a\nb", addBOS: false, parseSpecial: false) == ids(t, "a", "\n", "b"))
        #expect(t.encode("x  x", addBOS: false, parseSpecial: false) == ids(t, "x", "  ", "x"))
        #expect(t.encode("<start>a", addBOS: false, parseSpecial: true) == [4] + ids(t, "a"))
        let spelled = t.encode("<start>a", addBOS: false, parseSpecial: false)
        #expect(spelled == ids(t, "<", "s", "t", "a", "<0x72>", "t", ">", "a"))
        // Unknown-type tokens are special too.
        #expect(t.encode("<unk>", addBOS: false, parseSpecial: true) == [3])
    }

    @Test func longerSpecialTokensWinOverEarlierShorterOnes() throws {
        let t = try tiny.tokenizer()
        // llama.cpp claims special tokens longest first: "RST" (3 bytes) takes the R that the
        // earlier "QR" would need, so Q is left to SentencePiece (a byte token here).
        #expect(t.encode("QRST", addBOS: false, parseSpecial: false) == ids(t, "<0x51>", "RST"))
        #expect(t.encode("QRQR", addBOS: false, parseSpecial: false) == ids(t, "QR", "QR"))
    }

    @Test func spacePrefixIsAddedAtTheStartAndAfterSpecialTokens() throws {
        let t = try tiny.tokenizer(addSpacePrefix: true)
        #expect(t.encode("a", addBOS: true, parseSpecial: false) == [2] + ids(t, "▁a"))
        #expect(t.encode("<start>a", addBOS: false, parseSpecial: true) == [4] + ids(t, "▁a"))
        // Decoding removes the prefix again.
        #expect(t.decode(t.encode("a a", addBOS: true, parseSpecial: false)) == "a a")
    }

    @Test func decodeSkipsControlTokensUnlessAskedToRenderThem() throws {
        let t = try tiny.tokenizer()
        let encoded = t.encode("<start>ab\n", addBOS: true, parseSpecial: true)
        #expect(encoded.first == 2 && encoded.contains(4))
        #expect(t.decode(encoded) == "ab\n")
        #expect(t.decode(encoded, renderSpecial: true) == "<bos><start>ab\n")
        #expect(t.decode([-5, 99_999] + encoded) == "ab\n")
        #expect(t.piece(2).isEmpty && t.piece(2, renderSpecial: true) == "<bos>")
        #expect(t.piece(-1).isEmpty && t.tokenText(-1) == nil)
    }

    @Test func emptyTextGivesOnlyBOS() throws {
        let t = try tiny.tokenizer()
        #expect(t.encode("", addBOS: true, parseSpecial: true) == [2])
        #expect(t.encode("", addBOS: false, parseSpecial: true).isEmpty)
        #expect(t.decode([]) == "")
    }

    @Test func duplicateTokensAreATypedError() {
        #expect(throws: TokenizerError.self) {
            _ = try SentencePieceTokenizer(tokens: ["a", "b", "a"], scores: nil, types: nil, configuration: .init())
        }
    }

    @Test func ggufWithAnotherTokenizerModelIsRejected() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("tiny"))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.tokens", .array(.string(["a", "b"])))
        let url = try writeTemporary(w.encoded())
        let file = try GGUFFile(path: url.path)
        #expect(throws: TokenizerError.unsupportedModel(path: url.path, model: "gpt2")) {
            _ = try SentencePieceTokenizer(gguf: file)
        }

        var missing = GGUFWriter()
        missing.set("tokenizer.ggml.model", .string("llama"))
        let url2 = try writeTemporary(missing.encoded())
        #expect(throws: TokenizerError.missingMetadata(path: url2.path, key: "tokenizer.ggml.tokens")) {
            _ = try SentencePieceTokenizer(gguf: GGUFFile(path: url2.path))
        }

        var short = GGUFWriter()
        short.set("tokenizer.ggml.model", .string("llama"))
        short.set("tokenizer.ggml.tokens", .array(.string(["a", "b"])))
        short.set("tokenizer.ggml.scores", .array(.float32([0])))
        let url3 = try writeTemporary(short.encoded())
        #expect(throws: TokenizerError.self) { _ = try SentencePieceTokenizer(gguf: GGUFFile(path: url3.path)) }
    }

    @Test func ggufMetadataIsRead() throws {
        var w = GGUFWriter()
        w.set("tokenizer.ggml.model", .string("llama"))
        w.set("tokenizer.ggml.tokens", .array(.string(["<pad>", "<eos>", "<bos>", "▁hi", "<0x0A>", "▁h", "i"])))
        w.set("tokenizer.ggml.scores", .array(.float32([0, 0, 0, -1, 0, -2, -2])))
        w.set("tokenizer.ggml.token_type", .array(.int32([3, 3, 3, 1, 6, 1, 1])))
        w.set("tokenizer.ggml.bos_token_id", .uint32(2))
        w.set("tokenizer.ggml.eos_token_id", .uint32(1))
        w.set("tokenizer.ggml.padding_token_id", .uint32(0))
        w.set("tokenizer.ggml.add_space_prefix", .bool(true))
        let t = try SentencePieceTokenizer(gguf: GGUFFile(path: try writeTemporary(w.encoded()).path))
        #expect(t.vocabularySize == 7 && t.bosID == 2 && t.eosID == 1 && t.padID == 0 && t.unknownID == 0)
        #expect(t.encode("hi\n", addBOS: true, parseSpecial: false) == [2, 3, 4])
        #expect(t.decode([2, 3, 4]) == "hi\n")
    }
}

private func writeTemporary(_ bytes: [UInt8]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-spm-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent("t.gguf")
    try Data(bytes).write(to: url)
    return url
}

// MARK: - Gemma 3 270M against llama.cpp

private enum GemmaTokenizer {
    /// Loaded once for the whole suite; nil when the model is not installed (outside CI).
    static let shared: Result<SentencePieceTokenizer?, any Error> = Result {
        guard let url = try TestModels.gemma() else { return nil }
        return try SentencePieceTokenizer(gguf: GGUFFile(path: url.path))
    }
}

private struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

private func fixtureLines(_ name: String) throws -> [[String: Any]] {
    guard let url = Bundle.module.url(forResource: name, withExtension: "jsonl", subdirectory: "Fixtures") else {
        throw FixtureError(description: "missing fixture Fixtures/\(name).jsonl")
    }
    let text = try String(contentsOf: url, encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw FixtureError(description: "Fixtures/\(name).jsonl: a line is not a JSON object")
        }
        return object
    }
}

private func int32s(_ value: Any?) -> [Int32]? {
    (value as? [NSNumber])?.map { $0.int32Value }
}

/// Strings beyond llama.cpp's fixture whose round trip must be exact (compared byte for byte, since
/// Swift's String equality would accept a canonically equivalent normalisation).
private let trickyStrings = [
    "", " ", "  ", "   ", "\n", "\n\n\n", "\t", "\t\t x", " leading", "   three leading", "trailing ", "trailing   ",
    "multiple    spaces   in  between", "tabs\tand\tnewlines\n\nmixed \t \n end", "line\r\nwindows\r\n",
    "emoji 👩‍👩‍👧‍👦 🇫🇷 🎉👍🏽", "CJK 漢字 かな カナ 한국어 机器学习", "combining e\u{0301} a\u{0308} n\u{0303} Z\u{0324}\u{0354}",
    "precomposed é ä ñ", "math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑∫√", "rare \u{E000}\u{10FFFD}\u{FFFD}", "nul\u{0000}byte",
    "<start_of_turn>user\n", "<bos><eos><unk><pad>", "<unused42> <mask> [multimodal]", "<0x41> literal",
    String(repeating: " ", count: 40) + "forty spaces", String(repeating: "\n", count: 40),
    String(repeating: "ab", count: 500),
]

@Suite struct SentencePieceGemmaTests {
    func tokenizer() throws -> SentencePieceTokenizer? { try GemmaTokenizer.shared.get() }

    @Test func metadataMatchesTheFile() throws {
        guard let t = try tokenizer() else { return }
        #expect(t.vocabularySize == 262_144)
        #expect(t.bosID == 2 && t.eosID == 1 && t.unknownID == 3 && t.padID == 0)
        #expect(t.addBOSByDefault && !t.addSpacePrefix)
        #expect(t.id(of: "<start_of_turn>") == 105 && t.id(of: "<end_of_turn>") == 106)
        #expect(t.endOfGenerationIDs == [1, 106])
        #expect(t.tokenType(105) == .control && t.tokenType(107) == .userDefined && t.tokenType(238) == .byte)
        #expect(t.piece(236743) == " " && t.piece(107) == "\n" && t.piece(2).isEmpty)
        #expect(t.tokenText(9259) == "Hello")
    }

    @Test func idsEqualLlamaCppInBothModes() throws {
        guard let t = try tokenizer() else { return }
        let lines = try fixtureLines("gemma3-tokenize")
        #expect(lines.count == 7)
        for line in lines {
            let text = try #require(line["text"] as? String)
            let withSpecial = try #require(int32s(line["ids_with_bos_special_parsed"]))
            let asText = try #require(int32s(line["ids_no_bos_special_as_text"]))
            #expect(t.encode(text, addBOS: true, parseSpecial: true) == withSpecial, "\(text.debugDescription)")
            #expect(t.encode(text, addBOS: false, parseSpecial: false) == asText, "\(text.debugDescription)")
        }
    }

    @Test func greedyPromptIdsEqualLlamaCpp() throws {
        guard let t = try tokenizer() else { return }
        let first = try #require(try fixtureLines("gemma3-greedy").first)
        let prompt = try #require(first["prompt"] as? String)
        let ids = try #require(int32s(first["prompt_ids"]))
        #expect(t.encode(prompt, addBOS: true, parseSpecial: true) == ids)
        // The generated ids decode to llama.cpp's text.
        let generated = try #require(int32s(first["generated_ids"]))
        #expect(t.decode(generated) == first["greedy_output"] as? String)
    }

    @Test func decodeInvertsEncode() throws {
        guard let t = try tokenizer() else { return }
        let fixtureTexts = try fixtureLines("gemma3-tokenize").compactMap { $0["text"] as? String }
        for s in fixtureTexts + trickyStrings {
            for bos in [false, true] {
                let plain = t.decode(t.encode(s, addBOS: bos, parseSpecial: false))
                #expect(Array(plain.utf8) == Array(s.utf8), "\(s.debugDescription) bos \(bos)")
            }
            let special = t.decode(t.encode(s, addBOS: false, parseSpecial: true), renderSpecial: true)
            #expect(Array(special.utf8) == Array(s.utf8), "\(s.debugDescription) with special tokens")
            // Piece by piece (as a streaming caller would) gives the same bytes.
            let streamed = t.encode(s, addBOS: true, parseSpecial: false).flatMap { t.pieceBytes($0) }
            #expect(streamed == Array(s.utf8), "\(s.debugDescription) streamed")
        }
    }

    @Test func servesGenerationThroughTextTokenizer() throws {
        guard let t = try tokenizer() else { return }
        let generic: any TextTokenizer = t
        let prompt = "<start_of_turn>user\nHi<end_of_turn>\n"
        #expect(try generic.encode(prompt, addBeginningOfSequence: true, parseSpecialTokens: true)
            == [2, 105, 2364, 107, 10979, 106, 107])
        #expect(generic.endOfGenerationTokens == [1, 106])
        #expect(generic.bytes(of: 238) == [0x00] && generic.decode([2, 9259]) == "Hello")
    }

    @Test func specialTokensInTextAreSpelledOutWithoutParsing() throws {
        guard let t = try tokenizer() else { return }
        let spelled = t.encode("<end_of_turn>", addBOS: false, parseSpecial: false)
        #expect(!spelled.contains(106) && spelled.count > 1)
        #expect(t.encode("<end_of_turn>", addBOS: false, parseSpecial: true) == [106])
        // Runs of spaces, newlines and tabs are user-defined tokens, matched in both modes.
        #expect(t.encode("  ", addBOS: false, parseSpecial: false) == [138])
        #expect(t.encode("\t\t", addBOS: false, parseSpecial: false) == [t.id(of: "\t\t") ?? -1])
    }
}
