import Foundation

/// Errors of `GGUFFile.tokenizer()` and `ByteLevelBPETokenizer` beyond the shared `TokenizerError`s.
public enum GGUFTokenizerError: Error, CustomStringConvertible, Equatable {
    case unsupportedModel(path: String, model: String)
    case unsupportedPreTokenizer(path: String, name: String)
    case invalidMerge(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedModel(path, model):
            return "\(path): tokenizer.ggml.model '\(model)' is not supported; supported: 'llama' (SentencePiece) and "
                + "'gpt2' (byte-level BPE)"
        case let .unsupportedPreTokenizer(path, name):
            return "\(path): tokenizer.ggml.pre '\(name)' is not supported; supported: "
                + GGUFPreTokenizer.supportedNames.joined(separator: ", ")
        case let .invalidMerge(path, reason):
            return "\(path): tokenizer.ggml.merges is invalid (\(reason)); the file is damaged or was written by an "
                + "incompatible converter"
        }
    }
}

/// The tokenizer of a GGUF, whatever its `tokenizer.ggml.model`: what generation, training,
/// perplexity and the server need, with llama.cpp's semantics.
public protocol GGUFTokenizer: TextTokenizer, Sendable {
    var vocabularySize: Int { get }
    var bosID: Int32 { get }
    var eosID: Int32 { get }
    /// `tokenizer.ggml.add_bos_token` (llama.cpp's default when absent).
    var addBOSByDefault: Bool { get }
    /// `tokenizer.ggml.add_eos_token` (false when absent).
    var addEOSByDefault: Bool { get }
    var endOfGenerationIDs: Set<Int32> { get }
    /// Token ids of `text`; `addBOS` puts BOS first (whatever the file says).
    func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32]
    func decode(_ ids: [Int32], renderSpecial: Bool) -> String
    /// What one token adds to decoded text (control tokens: nothing unless `renderSpecial`).
    func pieceBytes(_ id: Int32, renderSpecial: Bool) -> [UInt8]
    /// The id of a vocabulary entry given its stored text.
    func id(of token: String) -> Int32?
    /// The vocabulary entry as stored.
    func tokenText(_ id: Int32) -> String?
    func isControl(_ id: Int32) -> Bool
}

extension GGUFTokenizer {
    /// llama.cpp's `llama_tokenize(text, add_special, parse_special)`: with `addSpecial`, BOS when
    /// the file's `add_bos_token` says so and EOS when `add_eos_token` does. `llama-tokenize` passes
    /// `add_special = add_bos_token && !--no-bos`.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var ids = encode(text, addBOS: addSpecial && addBOSByDefault, parseSpecial: parseSpecial)
        if addSpecial && addEOSByDefault { ids.append(eosID) }
        return ids
    }

    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGenerationIDs.contains(id) }

    // What generation needs (`TextTokenizer`), the same for every GGUF vocabulary.
    public func encode(_ text: String, addBeginningOfSequence: Bool, parseSpecialTokens: Bool) throws -> [Int32] {
        encode(text, addBOS: addBeginningOfSequence, parseSpecial: parseSpecialTokens)
    }

    public func bytes(of token: Int32) -> [UInt8] { pieceBytes(token, renderSpecial: false) }

    public var endOfGenerationTokens: Set<Int32> { endOfGenerationIDs }
}

extension SentencePieceTokenizer: GGUFTokenizer {}

extension GGUFFile {
    /// The tokenizer this file carries: SentencePiece for `tokenizer.ggml.model = llama`, byte-level
    /// BPE for `gpt2`. Any other model is a `GGUFTokenizerError.unsupportedModel`.
    public func tokenizer() throws -> any GGUFTokenizer {
        guard let model = metadata.string("tokenizer.ggml.model") else {
            throw TokenizerError.missingMetadata(path: path, key: "tokenizer.ggml.model")
        }
        switch model {
        case "llama": return try SentencePieceTokenizer(gguf: self)
        case "gpt2": return try ByteLevelBPETokenizer(gguf: self)
        default: throw GGUFTokenizerError.unsupportedModel(path: path, model: model)
        }
    }
}

/// Byte-level BPE as llama.cpp reads it from GGUF (`tokenizer.ggml.model = gpt2`, as for Llama 3,
/// Qwen2/3, SmolLM, GPT-2, Phi-2, DeepSeek): tokens already in GPT-2's byte-to-character form,
/// `tokenizer.ggml.merges` ("a b", rank = index), token types, and the pre-tokenizer named by
/// `tokenizer.ggml.pre`.
///
/// Encoding follows llama.cpp's `llm_tokenizer_bpe_session`: special and user-defined tokens are cut
/// out first (`SpecialTokenMatcher`, as for SentencePiece); each remaining fragment is split by the
/// pre-tokenizer; each piece's UTF-8 bytes are mapped to GPT-2's characters and merged by rank
/// (`BPEModel`, the merge loop `tokenizer.json` vocabularies use too).
public final class ByteLevelBPETokenizer: Sendable {
    public typealias TokenType = SentencePieceTokenizer.TokenType

    public let vocabularySize: Int
    public let bosID: Int32
    public let eosID: Int32
    public let padID: Int32?
    public let addBOSByDefault: Bool
    public let addEOSByDefault: Bool
    public let endOfGenerationIDs: Set<Int32>
    public let preTokenizer: GGUFPreTokenizer

    private let texts: PackedStrings
    private let types: [TokenType]
    private let lookup: ByteStringTable
    private let pieces: PackedStrings
    private let model: BPEModel
    private let specials: SpecialTokenMatcher
    private let byteToScalar: [Unicode.Scalar]

    /// Tokens llama.cpp treats as control whatever their stored type (its EOT / EOM / FIM detection).
    static let autoControlNames: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
        "<｜end▁of▁sentence｜>", "<end_of_utterance>", "<|eom_id|>",
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
        "<reponame>", "<|file_sep|>",
    ]

    public convenience init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        let path = gguf.path
        guard let model = meta.string("tokenizer.ggml.model") else {
            throw TokenizerError.missingMetadata(path: path, key: "tokenizer.ggml.model")
        }
        guard model == "gpt2" else { throw GGUFTokenizerError.unsupportedModel(path: path, model: model) }
        let preName = meta.string("tokenizer.ggml.pre")
        guard let pre = GGUFPreTokenizer(name: preName) else {
            throw GGUFTokenizerError.unsupportedPreTokenizer(path: path, name: preName ?? "")
        }
        let tokens = try meta.requiredStrings("tokenizer.ggml.tokens", path: path)
        let mergeStrings = try meta.requiredStrings("tokenizer.ggml.merges", path: path)
        let types = try meta.tokenTypes(count: tokens.count, path: path)
        // llama.cpp splits a merge at the first space after its first byte ("a b"; a space-led
        // first part stays whole).
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeStrings.count)
        for (rank, m) in mergeStrings.enumerated() {
            let bytes = Array(m.utf8)
            guard bytes.count >= 3, let space = bytes.dropFirst().firstIndex(of: 0x20) else {
                throw GGUFTokenizerError.invalidMerge(path: path, reason: "merge \(rank) '\(m)' is not two tokens")
            }
            merges.append((String(decoding: bytes[..<space], as: UTF8.self),
                           String(decoding: bytes[(space + 1)...], as: UTF8.self)))
        }
        func tokenID(_ key: String, _ fallback: Int32?) -> Int32? {
            guard let v = meta.int(key), v >= 0, v < tokens.count else { return fallback }
            return Int32(v)
        }
        // llama.cpp's BPE defaults: BOS = EOS = 11 (when in range), add_bos true for the Llama 3
        // pre-tokenizers, false otherwise; add_eos false.
        let defaultSpecial: Int32? = tokens.count > 11 ? 11 : nil
        guard let bos = tokenID("tokenizer.ggml.bos_token_id", defaultSpecial),
              let eos = tokenID("tokenizer.ggml.eos_token_id", defaultSpecial) else {
            throw TokenizerError.missingMetadata(path: path, key: "tokenizer.ggml.bos_token_id")
        }
        try self.init(tokens: tokens, types: types, merges: merges, preTokenizer: pre, bosID: bos, eosID: eos,
                      padID: tokenID("tokenizer.ggml.padding_token_id", nil),
                      addBOS: meta.bool("tokenizer.ggml.add_bos_token") ?? (pre.kind == .llama3),
                      addEOS: meta.bool("tokenizer.ggml.add_eos_token") ?? false,
                      modelName: meta.string("general.name"), source: path)
    }

    /// Builds the tokenizer from a vocabulary in memory (ids are the array indices; missing types
    /// count as normal).
    public init(tokens: [String], types: [TokenType]?, merges: [(String, String)], preTokenizer: GGUFPreTokenizer,
                bosID: Int32, eosID: Int32, padID: Int32? = nil, addBOS: Bool, addEOS: Bool = false,
                modelName: String? = nil, source: String = "vocabulary") throws {
        let count = tokens.count
        guard count > 0, count <= Int(Int32.max) else {
            throw TokenizerError.invalidMetadata(path: source, key: "tokenizer.ggml.tokens", reason: "\(count) tokens")
        }
        vocabularySize = count
        var typeList = types.map { Array($0.prefix(count)) } ?? Array(repeating: .normal, count: count)
        if typeList.count < count { typeList += Array(repeating: .normal, count: count - typeList.count) }

        var builder = PackedStrings.Builder(capacity: count)
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(count)
        for (i, token) in tokens.enumerated() {
            let text = token.isEmpty ? "[EMPTY_\(i)]" : token
            builder.append(Array(text.utf8))
            vocab[text] = i
            if typeList[i] != .control, Self.autoControlNames.contains(text) { typeList[i] = .control }
        }
        let texts = builder.finish()
        let table = ByteStringTable(texts)
        if let (first, second) = table.duplicate {
            throw TokenizerError.duplicateToken(path: source, token: texts.string(Int(second)),
                                                firstID: Int(first), secondID: Int(second))
        }
        do {
            model = try BPEModel(vocab: vocab, merges: merges, unknownID: nil, byteFallback: false,
                                 ignoreMerges: preTokenizer.ignoreMerges, continuingPrefix: nil, endOfWordSuffix: nil,
                                 path: source)
        } catch let HFTokenizerError.invalid(_, reason) {
            throw GGUFTokenizerError.invalidMerge(path: source, reason: reason)
        }

        let map = ByteLevelMap.byteToScalar()
        var back: [UInt32: UInt8] = [:]
        for (b, s) in map.enumerated() { back[s.value] = UInt8(b) }
        var pieceBuilder = PackedStrings.Builder(capacity: count)
        for id in 0..<count {
            switch typeList[id] {
            case .normal, .byte:
                // llama.cpp's llama_decode_text: each character back to its byte.
                var out: [UInt8] = []
                for s in texts.string(id).unicodeScalars {
                    if let b = back[s.value] { out.append(b) } else { out.append(contentsOf: String(s).utf8) }
                }
                pieceBuilder.append(out)
            case .userDefined:
                pieceBuilder.append(texts[id])
            case .control, .unknown, .unused, .undefined:
                pieceBuilder.append([])
            }
        }

        var eog: Set<Int32> = [eosID]
        for name in EndOfGeneration.tokenNames {
            if let id = table.find(Array(name.utf8), in: texts) { eog.insert(id) }
        }
        let special = { (i: Int) in [.control, .userDefined, .unknown].contains(typeList[i]) }

        self.bosID = bosID
        self.eosID = eosID
        self.padID = padID
        self.addBOSByDefault = addBOS
        self.addEOSByDefault = addEOS
        self.preTokenizer = preTokenizer
        self.texts = texts
        self.types = typeList
        self.lookup = table
        self.pieces = pieceBuilder.finish()
        self.byteToScalar = map
        self.endOfGenerationIDs = eog
        self.specials = SpecialTokenMatcher(texts: texts, types: typeList,
                                            rightStripped: phi3RightStrippedTokens(name: modelName, tokens: tokens, isSpecial: special))
    }

    // MARK: - Queries

    public func id(of token: String) -> Int32? { lookup.find(Array(token.utf8), in: texts) }

    public func tokenText(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return texts.string(Int(id))
    }

    public func tokenType(_ id: Int32) -> TokenType? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return types[Int(id)]
    }

    public func isControl(_ id: Int32) -> Bool { tokenType(id) == .control }

    public func pieceBytes(_ id: Int32, renderSpecial: Bool = false) -> [UInt8] {
        guard id >= 0, Int(id) < vocabularySize else { return [] }
        let i = Int(id)
        if renderSpecial, types[i] == .control || types[i] == .unknown { return Array(texts[i]) }
        return Array(pieces[i])
    }

    public func piece(_ id: Int32, renderSpecial: Bool = false) -> String {
        String(decoding: pieceBytes(id, renderSpecial: renderSpecial), as: UTF8.self)
    }

    // MARK: - Decode

    /// The tokens' bytes read as UTF-8; control tokens skipped unless `renderSpecial`.
    public func decode(_ ids: [Int32], renderSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes.append(contentsOf: pieceBytes(id, renderSpecial: renderSpecial)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func decode(_ ids: [Int32]) -> String { decode(ids, renderSpecial: false) }

    // MARK: - Encode

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        encode(text, addBOS: addBOS, parseSpecial: parseSpecial, plainText: [])
    }

    /// `encode` with special tokens recognised except inside the `plainText` byte ranges.
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool, plainText: [Range<Int>]) -> [Int32] {
        var output: [Int32] = []
        if addBOS { output.append(bosID) }
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return output }
        var ids: [Int] = []
        for fragment in specials.partition(bytes, parseSpecial: parseSpecial, plainText: plainText) {
            switch fragment {
            case let .token(id):
                output.append(id)
            case let .text(range):
                // Special tokens are whole UTF-8 strings, so a fragment is too.
                let scalars = Array(String(decoding: bytes[range], as: UTF8.self).unicodeScalars)
                for piece in preTokenizer.split(scalars) {
                    var mapped: [Unicode.Scalar] = []
                    for s in piece {
                        for b in String(s).utf8 { mapped.append(byteToScalar[Int(b)]) }
                    }
                    ids.removeAll(keepingCapacity: true)
                    model.tokenize(mapped, into: &ids)
                    for id in ids { output.append(Int32(id)) }
                }
            }
        }
        return output
    }
}

extension ByteLevelBPETokenizer: GGUFTokenizer {
    public func encode(_ text: String, addBeginningOfSequence: Bool, plainText: [Range<Int>]) throws -> [Int32] {
        encode(text, addBOS: addBeginningOfSequence, parseSpecial: true, plainText: plainText)
    }
}

extension GGUFMetadata {
    /// A string-array key every GGUF tokenizer needs (`tokenizer.ggml.tokens`, `.merges`).
    func requiredStrings(_ key: String, path: String) throws -> [String] {
        guard let array = array(key) else { throw TokenizerError.missingMetadata(path: path, key: key) }
        guard let strings = array.stringValues else {
            throw TokenizerError.invalidMetadata(path: path, key: key, reason: "an array of \(array.elementTypeName), expected strings")
        }
        return strings
    }

    /// `tokenizer.ggml.token_type`, one entry per token at least, when the file has it.
    func tokenTypes(count: Int, path: String) throws -> [SentencePieceTokenizer.TokenType]? {
        guard let array = array("tokenizer.ggml.token_type") else { return nil }
        guard let ints = array.intValues else {
            throw TokenizerError.invalidMetadata(path: path, key: "tokenizer.ggml.token_type",
                                                 reason: "an array of \(array.elementTypeName), expected integers")
        }
        guard ints.count >= count else {
            throw TokenizerError.invalidMetadata(path: path, key: "tokenizer.ggml.token_type",
                                                 reason: "\(ints.count) types for \(count) tokens")
        }
        return ints.map { SentencePieceTokenizer.TokenType(rawValue: UInt8(clamping: $0)) ?? .undefined }
    }
}
