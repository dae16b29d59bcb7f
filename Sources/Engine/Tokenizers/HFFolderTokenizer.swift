import Foundation

/// The tokenizer of a Hugging Face model folder (`tokenizer.json`, with `tokenizer_config.json` and
/// `config.json` for the special tokens) behind the same protocol as a GGUF's, so generation, the
/// server and perplexity treat both alike.
// @unchecked Sendable: immutable after init: every stored property is a `let` and the tokenizer's tables are only read.
public final class HFFolderTokenizer: GGUFTokenizer, @unchecked Sendable {
    public let tokenizer: HFTokenizer
    public let bosID: Int32
    public let eosID: Int32
    public let addBOSByDefault: Bool
    public let addEOSByDefault = false
    public let endOfGenerationIDs: Set<Int32>
    /// `tokenizer_config.json` as parsed (the chat template and special-token strings), if present.
    public let tokenizerConfig: JinjaValue?

    public init(folder: URL) throws {
        let tokenizer = try HFTokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        self.tokenizer = tokenizer
        var config: JinjaValue?
        if let data = FileManager.default.contents(atPath: folder.appendingPathComponent("tokenizer_config.json").path) {
            config = try? JinjaValue.parseJSON(String(decoding: data, as: UTF8.self))
        }
        tokenizerConfig = config
        let model = (try? HFConfigValues(folder: folder))?.json ?? [:]
        let special = config.map { ChatTemplate.SpecialTokens(tokenizerConfig: $0) }
        func id(_ configKey: String, _ text: String?) -> Int32? {
            if let n = model[configKey] as? Int, let v = Int32(exactly: n) { return v }
            if let list = model[configKey] as? [Int], let n = list.first, let v = Int32(exactly: n) { return v }
            return text.flatMap { tokenizer.id(of: $0) }.flatMap { Int32(exactly: $0) }
        }
        let eos = id("eos_token_id", special?.eos) ?? 0
        let bos = id("bos_token_id", special?.bos) ?? eos
        eosID = eos
        bosID = bos
        // The post-processor's own BOS (Llama 3's `<|begin_of_text|>`) or tokenizer_config's add_bos_token.
        let probe = tokenizer.encode("", addSpecialTokens: true, parseAddedTokens: false).ids
        addBOSByDefault = (special?.tokenizerAddsBOS ?? false) || probe.first.map { Int32($0) == bos } ?? false
        var stops: Set<Int32> = [eos]
        if let list = model["eos_token_id"] as? [Int] { stops.formUnion(list.compactMap { Int32(exactly: $0) }) }
        // Chat models end turns with these even when config.json names only the document end.
        for name in ["<|eot_id|>", "<|im_end|>", "<|endoftext|>", "<|end|>", "<end_of_turn>"] {
            if let i = tokenizer.id(of: name), let v = Int32(exactly: i) { stops.insert(v) }
        }
        endOfGenerationIDs = stops
    }

    public var vocabularySize: Int { tokenizer.vocabularySize }
    public var endOfGenerationTokens: Set<Int32> { endOfGenerationIDs }

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var ids = tokenizer.encode(text, addSpecialTokens: false, parseAddedTokens: parseSpecial).ids.map { Int32(truncatingIfNeeded: $0) }
        if addBOS { ids.insert(bosID, at: 0) }
        return ids
    }

    public func encode(_ text: String, addBeginningOfSequence: Bool, parseSpecialTokens: Bool) throws -> [Int32] {
        encode(text, addBOS: addBeginningOfSequence, parseSpecial: parseSpecialTokens)
    }

    public func decode(_ ids: [Int32], renderSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes += pieceBytes(id, renderSpecial: renderSpecial) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func pieceBytes(_ id: Int32, renderSpecial: Bool) -> [UInt8] {
        if renderSpecial, tokenizer.isSpecial(Int(id)), let text = tokenizer.token(Int(id)) { return Array(text.utf8) }
        return tokenizer.bytes(of: Int(id))
    }

    public func bytes(of token: Int32) -> [UInt8] { tokenizer.bytes(of: Int(token)) }
    public func id(of token: String) -> Int32? { tokenizer.id(of: token).flatMap { Int32(exactly: $0) } }
    public func tokenText(_ id: Int32) -> String? { tokenizer.token(Int(id)) }
    public func isControl(_ id: Int32) -> Bool { tokenizer.isSpecial(Int(id)) }
}
