/// What generation needs from a decoder-only model that keeps its own key/value cache.
///
/// The cache holds the keys and values of positions `0 ..< cachedCount`; `forward` appends to it.
/// Generation keeps track of which token ids are in the cache and calls `truncateCache` to drop a
/// suffix that differs from the next prompt, so an unchanged prompt prefix is never computed twice.
/// Calls come from one thread at a time (the generator's queue).
public protocol CausalLanguageModel: AnyObject {
    var vocabularySize: Int { get }
    /// Most positions the model can attend over.
    var contextLength: Int { get }
    /// Most tokens one `forward` call takes; longer prompts are fed in batches of this size.
    var maximumBatchSize: Int { get }
    /// Runs `tokens` at positions `position ..< position + tokens.count` (the cache holds exactly
    /// `position` positions when called), adds them to the cache, and writes the logits of the
    /// last token into `logits` (`vocabularySize` values).
    func forward(tokens: [Int32], startingAt position: Int, logits: UnsafeMutableBufferPointer<Float>) throws
    /// Keeps only the first `count` cached positions and returns how many the cache now holds —
    /// fewer than asked when the cache cannot roll back that far (the caller then recomputes).
    func truncateCache(to count: Int) -> Int
}

/// What generation needs from a tokenizer.
public protocol TextTokenizer: AnyObject {
    /// Token ids for `text`, with the beginning-of-sequence token first when asked and special
    /// tokens such as `<start_of_turn>` recognised in the text when `parseSpecialTokens`.
    func encode(_ text: String, addBeginningOfSequence: Bool, parseSpecialTokens: Bool) throws -> [Int32]
    /// Token ids for `text` with special tokens recognised everywhere except inside `plainText`
    /// (UTF-8 byte ranges, sorted and disjoint): a rendered chat template whose message contents
    /// must stay text, so a message cannot write turn markers.
    func encode(_ text: String, addBeginningOfSequence: Bool, plainText: [Range<Int>]) throws -> [Int32]
    /// The UTF-8 bytes `token` contributes to decoded text (empty for control tokens; a byte-fallback
    /// token gives its single byte, which may be part of a longer character).
    func bytes(of token: Int32) -> [UInt8]
    /// Tokens that end a generation (for Gemma `<eos>` and `<end_of_turn>`).
    var endOfGenerationTokens: Set<Int32> { get }
}

extension TextTokenizer {
    /// For tokenizers that cannot mask parts of one text: the pieces are tokenized one after
    /// another (plain ranges without special tokens). A merge across a piece boundary can then
    /// differ from tokenizing the whole text; the GGUF tokenizers implement the exact form.
    public func encode(_ text: String, addBeginningOfSequence: Bool, plainText: [Range<Int>]) throws -> [Int32] {
        guard !plainText.isEmpty else { return try encode(text, addBeginningOfSequence: addBeginningOfSequence, parseSpecialTokens: true) }
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        var first = true
        var cursor = 0
        func piece(_ range: Range<Int>, special: Bool) throws {
            guard !range.isEmpty else { return }
            let part = String(decoding: bytes[range], as: UTF8.self)
            ids += try encode(part, addBeginningOfSequence: first && addBeginningOfSequence, parseSpecialTokens: special)
            first = false
        }
        for range in plainText where range.lowerBound >= cursor && range.upperBound <= bytes.count {
            try piece(cursor..<range.lowerBound, special: true)
            try piece(range, special: false)
            cursor = range.upperBound
        }
        try piece(cursor..<bytes.count, special: true)
        if first, addBeginningOfSequence { ids = try encode("", addBeginningOfSequence: true, parseSpecialTokens: true) }
        return ids
    }

    /// Decodes a whole sequence (invalid UTF-8 becomes U+FFFD).
    public func decode(_ tokens: [Int32]) -> String {
        var bytes: [UInt8] = []
        for token in tokens { bytes.append(contentsOf: self.bytes(of: token)) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
