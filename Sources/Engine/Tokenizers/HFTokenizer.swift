import Foundation

public enum HFTokenizerError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)
    case unsupported(path: String, what: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason); a Hugging Face model folder needs its tokenizer.json"
        case let .invalid(path, reason):
            return "\(path) is not a valid tokenizer.json: \(reason)"
        case let .unsupported(path, what):
            return "\(path) uses \(what), which whet does not support yet"
        }
    }
}

/// A tokenizer read from a Hugging Face `tokenizer.json`: added (special) tokens, normalizer,
/// pre-tokenizer, model (WordPiece or BPE), post-processor and decoder, run in the order the
/// `tokenizers` library runs them.
public final class HFTokenizer: Sendable {
    public struct Encoding: Sendable, Equatable {
        public var ids: [Int]
        /// Segment ids (BERT token types); 0 for a single sequence.
        public var typeIDs: [Int]
        /// 1 for tokens added by the post-processor ([CLS], [SEP], <|begin_of_text|>).
        public var specialTokensMask: [Int]
    }

    enum Model: Sendable {
        case wordPiece(WordPieceModel)
        case bpe(BPEModel)
    }

    struct AddedToken: Sendable {
        let id: Int
        let content: [Unicode.Scalar]
        let special: Bool
        let lstrip: Bool
        let rstrip: Bool
    }

    enum TemplatePiece: Sendable {
        case special(ids: [Int])
        case sequence
    }

    public let path: String
    public let modelType: String
    let model: Model
    let normalizer: HFNormalizer?
    let preTokenizer: HFPreTokenizer?
    let addedTokens: [AddedToken]
    /// Pieces around the sequence for a single input (empty: the post-processor adds nothing).
    let singleTemplate: [TemplatePiece]
    let byteToScalar: [Unicode.Scalar]
    let scalarToByte: [UInt32: UInt8]
    let idToToken: [Int: String]
    let specialIDs: Set<Int>
    let decodesWordPiece: Bool
    let decodesByteLevel: Bool
    /// Truncation length from tokenizer.json, when it sets one.
    public let defaultMaxLength: Int?

    public var vocabularySize: Int { idToToken.count }

    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw HFTokenizerError.unreadable(path: url.path, reason: "the file cannot be read")
        }
        try self.init(json: data, path: url.path)
    }

    public init(json: Data, path: String = "tokenizer.json") throws {
        guard let root = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            throw HFTokenizerError.invalid(path: path, reason: "it is not a JSON object")
        }
        self.path = path
        guard let modelJSON = root["model"] as? [String: Any], let vocab = modelJSON["vocab"] as? [String: Any] else {
            throw HFTokenizerError.invalid(path: path, reason: "no model.vocab object")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0 else {
                throw HFTokenizerError.invalid(path: path, reason: "vocabulary id of '\(token)' is not a non-negative integer")
            }
            vocabulary[token] = id
        }
        var added: [AddedToken] = []
        for item in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = item["id"] as? Int, let content = item["content"] as? String, !content.isEmpty else {
                throw HFTokenizerError.invalid(path: path, reason: "an added token lacks its id or content")
            }
            added.append(AddedToken(id: id, content: Array(content.unicodeScalars), special: item["special"] as? Bool ?? false,
                                    lstrip: item["lstrip"] as? Bool ?? false, rstrip: item["rstrip"] as? Bool ?? false))
            vocabulary[content] = vocabulary[content] ?? id
        }
        // Longest first, so "<|end|>" never shadows "<|endoftext|>" at the same position.
        addedTokens = added.sorted { $0.content.count > $1.content.count }
        var reverse: [Int: String] = [:]
        for (token, id) in vocabulary { reverse[id] = token }
        for a in added { reverse[a.id] = String(String.UnicodeScalarView(a.content)) }
        idToToken = reverse
        specialIDs = Set(added.filter(\.special).map(\.id))

        let type = modelJSON["type"] as? String ?? (modelJSON["merges"] != nil ? "BPE" : "")
        modelType = type
        func tokenID(_ name: String?) throws -> Int? {
            guard let name else { return nil }
            guard let id = vocabulary[name] else {
                throw HFTokenizerError.invalid(path: path, reason: "unknown token '\(name)' is not in the vocabulary")
            }
            return id
        }
        switch type {
        case "WordPiece":
            guard let unk = try tokenID(modelJSON["unk_token"] as? String ?? "[UNK]") else {
                throw HFTokenizerError.invalid(path: path, reason: "WordPiece needs an unk_token")
            }
            model = .wordPiece(WordPieceModel(vocab: vocabulary, unknownID: unk,
                                              continuingPrefix: modelJSON["continuing_subword_prefix"] as? String ?? "##",
                                              maxInputCharsPerWord: modelJSON["max_input_chars_per_word"] as? Int ?? 100))
        case "BPE":
            var merges: [(String, String)] = []
            for m in modelJSON["merges"] as? [Any] ?? [] {
                if let s = m as? String {
                    let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2 else { throw HFTokenizerError.invalid(path: path, reason: "merge '\(s)' is not two tokens") }
                    merges.append((String(parts[0]), String(parts[1])))
                } else if let pair = m as? [String], pair.count == 2 {
                    merges.append((pair[0], pair[1]))
                } else {
                    throw HFTokenizerError.invalid(path: path, reason: "a merge is neither \"a b\" nor [a, b]")
                }
            }
            model = .bpe(try BPEModel(vocab: vocabulary, merges: merges, unknownID: try tokenID(modelJSON["unk_token"] as? String),
                                      byteFallback: modelJSON["byte_fallback"] as? Bool ?? false,
                                      ignoreMerges: modelJSON["ignore_merges"] as? Bool ?? false,
                                      continuingPrefix: modelJSON["continuing_subword_prefix"] as? String,
                                      endOfWordSuffix: modelJSON["end_of_word_suffix"] as? String, path: path))
        default:
            throw HFTokenizerError.unsupported(path: path, what: "model type '\(type)' (WordPiece and BPE are supported)")
        }

        normalizer = try (root["normalizer"] as? [String: Any]).map { try HFNormalizer(json: $0, path: path) }
        preTokenizer = try (root["pre_tokenizer"] as? [String: Any]).map { try HFPreTokenizer(json: $0, path: path) }
        singleTemplate = try Self.parsePostProcessor(root["post_processor"] as? [String: Any], vocabulary: vocabulary, path: path)
        let decoderType = (root["decoder"] as? [String: Any])?["type"] as? String
        decodesWordPiece = decoderType == "WordPiece"
        decodesByteLevel = decoderType == "ByteLevel" || preTokenizer?.isByteLevel == true
        let table = ByteLevelMap.byteToScalar()
        byteToScalar = table
        var back: [UInt32: UInt8] = [:]
        for (b, s) in table.enumerated() { back[s.value] = UInt8(b) }
        scalarToByte = back
        defaultMaxLength = (root["truncation"] as? [String: Any])?["max_length"] as? Int
    }

    private static func parsePostProcessor(_ json: [String: Any]?, vocabulary: [String: Int], path: String) throws -> [TemplatePiece] {
        guard let json else { return [.sequence] }
        let type = json["type"] as? String ?? ""
        func idOf(_ entry: Any?) throws -> Int {
            // BertProcessing / RobertaProcessing store [token, id].
            guard let pair = entry as? [Any], pair.count == 2, let id = pair[1] as? Int else {
                throw HFTokenizerError.invalid(path: path, reason: "\(type) needs [token, id] pairs")
            }
            return id
        }
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"] as? [[String: Any]] else {
                throw HFTokenizerError.invalid(path: path, reason: "TemplateProcessing without a 'single' template")
            }
            let specials = json["special_tokens"] as? [String: Any] ?? [:]
            return try single.map { piece in
                if piece["Sequence"] != nil { return .sequence }
                guard let name = (piece["SpecialToken"] as? [String: Any])?["id"] as? String else {
                    throw HFTokenizerError.invalid(path: path, reason: "a template piece is neither Sequence nor SpecialToken")
                }
                if let ids = (specials[name] as? [String: Any])?["ids"] as? [Int] { return .special(ids: ids) }
                guard let id = vocabulary[name] else {
                    throw HFTokenizerError.invalid(path: path, reason: "template token '\(name)' is not in the vocabulary")
                }
                return .special(ids: [id])
            }
        case "BertProcessing", "RobertaProcessing":
            return [.special(ids: [try idOf(json["cls"])]), .sequence, .special(ids: [try idOf(json["sep"])])]
        case "ByteLevel":
            return [.sequence]
        case "Sequence":
            var template: [TemplatePiece] = [.sequence]
            for item in json["processors"] as? [[String: Any]] ?? [] {
                let inner = try parsePostProcessor(item, vocabulary: vocabulary, path: path)
                if inner.count > 1 { template = inner }
            }
            return template
        default:
            throw HFTokenizerError.unsupported(path: path, what: "post-processor '\(type)'")
        }
    }

    /// Number of tokens the post-processor adds around a single sequence.
    public var specialTokensAdded: Int {
        singleTemplate.reduce(0) { if case let .special(ids) = $1 { return $0 + ids.count } else { return $0 } }
    }

    /// Token ids for `text`. `addSpecialTokens` applies the post-processor ([CLS] … [SEP]);
    /// `maxLength` truncates the sequence so the result, special tokens included, fits.
    /// `parseAddedTokens: false` treats text such as "<|eot_id|>" as plain text.
    public func encode(_ text: String, addSpecialTokens: Bool = true, maxLength: Int? = nil, parseAddedTokens: Bool = true) -> Encoding {
        var ids = encodeWithoutSpecial(text, parseAddedTokens: parseAddedTokens)
        let extra = addSpecialTokens ? specialTokensAdded : 0
        if let maxLength, ids.count + extra > maxLength { ids.removeLast(min(ids.count, ids.count + extra - maxLength)) }
        guard addSpecialTokens else {
            return Encoding(ids: ids, typeIDs: [Int](repeating: 0, count: ids.count), specialTokensMask: [Int](repeating: 0, count: ids.count))
        }
        var out: [Int] = [], mask: [Int] = []
        for piece in singleTemplate {
            switch piece {
            case let .special(specialIDs):
                out += specialIDs
                mask += [Int](repeating: 1, count: specialIDs.count)
            case .sequence:
                out += ids
                mask += [Int](repeating: 0, count: ids.count)
            }
        }
        return Encoding(ids: out, typeIDs: [Int](repeating: 0, count: out.count), specialTokensMask: mask)
    }

    private func encodeWithoutSpecial(_ text: String, parseAddedTokens: Bool) -> [Int] {
        var ids: [Int] = []
        let scalars = Array(text.unicodeScalars)
        for segment in parseAddedTokens ? splitOnAddedTokens(scalars) : [.text(scalars)] {
            switch segment {
            case let .added(id): ids.append(id)
            case let .text(scalars): encodeSegment(scalars, into: &ids)
            }
        }
        return ids
    }

    private enum Segment {
        case added(Int)
        case text([Unicode.Scalar])
    }

    /// Cuts the raw text at every added token (they bypass normalization and the model), honouring
    /// their lstrip / rstrip flags (which swallow neighbouring whitespace).
    private func splitOnAddedTokens(_ text: [Unicode.Scalar]) -> [Segment] {
        guard !addedTokens.isEmpty else { return [.text(text)] }
        var segments: [Segment] = []
        var pending: [Unicode.Scalar] = []
        var i = 0
        let n = text.count
        while i < n {
            var matched: AddedToken?
            for token in addedTokens where token.content.first == text[i] && i + token.content.count <= n {
                if text[i..<(i + token.content.count)].elementsEqual(token.content) { matched = token; break }
            }
            guard let token = matched else {
                pending.append(text[i])
                i += 1
                continue
            }
            if token.lstrip { while let last = pending.last, UnicodeClass.isWhitespace(last) { pending.removeLast() } }
            if !pending.isEmpty { segments.append(.text(pending)); pending = [] }
            segments.append(.added(token.id))
            i += token.content.count
            if token.rstrip { while i < n && UnicodeClass.isWhitespace(text[i]) { i += 1 } }
        }
        if !pending.isEmpty { segments.append(.text(pending)) }
        return segments
    }

    private func encodeSegment(_ scalars: [Unicode.Scalar], into ids: inout [Int]) {
        var text = String(String.UnicodeScalarView(scalars))
        if let normalizer { text = normalizer.apply(text) }
        var words = [Array(text.unicodeScalars)]
        if let preTokenizer { words = preTokenizer.apply(words) }
        let byteLevel = preTokenizer?.isByteLevel == true
        for word in words where !word.isEmpty {
            let symbols: [Unicode.Scalar]
            if byteLevel {
                var mapped: [Unicode.Scalar] = []
                for byte in String(String.UnicodeScalarView(word)).utf8 { mapped.append(byteToScalar[Int(byte)]) }
                symbols = mapped
            } else {
                symbols = word
            }
            switch model {
            case let .wordPiece(wp): wp.tokenize(symbols, into: &ids)
            case let .bpe(bpe): bpe.tokenize(symbols, into: &ids)
            }
        }
    }

    /// The vocabulary entry of `id` (nil when out of range).
    public func token(_ id: Int) -> String? { idToToken[id] }

    public func id(of token: String) -> Int? {
        if let a = addedTokens.first(where: { String(String.UnicodeScalarView($0.content)) == token }) { return a.id }
        switch model {
        case let .wordPiece(wp): return wp.vocab[token]
        case let .bpe(bpe): return bpe.vocab[token]
        }
    }

    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    /// The UTF-8 bytes one token contributes to decoded text (byte-level models: the unmapped
    /// bytes; WordPiece: the piece without its `##`, with a leading space otherwise).
    public func bytes(of id: Int) -> [UInt8] {
        guard let token = idToToken[id] else { return [] }
        if specialIDs.contains(id) { return [] }
        if decodesByteLevel {
            var out: [UInt8] = []
            for s in token.unicodeScalars {
                if let b = scalarToByte[s.value] { out.append(b) } else { out.append(contentsOf: String(s).utf8) }
            }
            return out
        }
        if token.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"), let b = UInt8(token.dropFirst(3).prefix(2), radix: 16) {
            return [b]
        }
        return Array(token.utf8)
    }

    /// Text of `ids`, special tokens skipped.
    public func decode(_ ids: [Int]) -> String {
        if decodesWordPiece {
            var out = ""
            for id in ids where !specialIDs.contains(id) {
                guard let token = idToToken[id] else { continue }
                if token.hasPrefix("##") { out += token.dropFirst(2) } else {
                    if !out.isEmpty { out += " " }
                    out += token
                }
            }
            // The WordPiece decoder's cleanup: no space before punctuation and contractions.
            for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                               (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
                out = out.replacingOccurrences(of: from, with: to)
            }
            return out
        }
        var bytes: [UInt8] = []
        for id in ids { bytes += self.bytes(of: id) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
