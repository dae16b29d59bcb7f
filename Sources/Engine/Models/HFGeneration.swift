import Foundation

/// A safetensors decoder (GPT-2, Llama family) behind the generation protocol, with its own cache.
// @unchecked Sendable: one caller at a time: the cache is driven by one `TextGenerator` on its serial queue.
public final class HFCausalLanguageModel: CausalLanguageModel, @unchecked Sendable {
    public let model: any HFDecoderModel
    private let cache: DecoderKVCache

    public enum PositionError: Error, CustomStringConvertible, Equatable {
        case gap(position: Int, cached: Int)
        public var description: String {
            switch self {
            case let .gap(position, cached):
                return "asked to run tokens at position \(position) but only \(cached) positions are cached; truncate the cache first"
            }
        }
    }

    /// `contextLength` caps the cache (default: the model's `max_position_embeddings`, at most 8192).
    public init(model: any HFDecoderModel, contextLength: Int? = nil) {
        self.model = model
        cache = model.makeCache(capacity: max(1, contextLength ?? min(model.config.maxPositionEmbeddings, 8192)))
    }

    public var vocabularySize: Int { model.config.vocabSize }
    public var contextLength: Int { cache.capacity }
    public var maximumBatchSize: Int { 512 }

    public func forward(tokens: [Int32], startingAt position: Int, logits: UnsafeMutableBufferPointer<Float>) throws {
        if position < cache.count { cache.truncate(to: position) }
        guard position == cache.count else { throw PositionError.gap(position: position, cached: cache.count) }
        let out = try model.forward(tokens.map(Int.init), cache: cache)
        let v = vocabularySize
        precondition(logits.count >= v, "logits buffer smaller than the vocabulary")
        guard let dst = logits.baseAddress else { return }
        dst.update(from: out.basePointer + (out.shape[0] - 1) * v, count: v)
    }

    public func truncateCache(to count: Int) -> Int {
        cache.truncate(to: count)
        return cache.count
    }
}

/// A `tokenizer.json` tokenizer behind the generation protocol. The post-processor supplies the
/// beginning-of-sequence token (Llama 3's `<|begin_of_text|>`; GPT-2 and Qwen2 add none).
// @unchecked Sendable: immutable after init: the tokenizer's tables are only read.
public final class HFTextTokenizer: TextTokenizer, @unchecked Sendable {
    public let tokenizer: HFTokenizer
    public let endOfGenerationTokens: Set<Int32>

    public init(tokenizer: HFTokenizer, config: HFModelConfig) {
        self.tokenizer = tokenizer
        var stops = Set(config.eosTokenIds.map { Int32($0) })
        // Chat models end turns with these even when config.json names only the document end.
        for name in EndOfGeneration.tokenNames {
            if let id = tokenizer.id(of: name) { stops.insert(Int32(id)) }
        }
        endOfGenerationTokens = stops
    }

    public func encode(_ text: String, addBeginningOfSequence: Bool, parseSpecialTokens: Bool) throws -> [Int32] {
        tokenizer.encode(text, addSpecialTokens: addBeginningOfSequence, parseAddedTokens: parseSpecialTokens).ids.map { Int32($0) }
    }

    public func bytes(of token: Int32) -> [UInt8] { tokenizer.bytes(of: Int(token)) }
}

/// Loads a decoder folder (config.json, safetensors, tokenizer.json) ready for `TextGenerator`.
public enum HFGenerationLoader {
    public static func load(folder: URL, contextLength: Int? = nil) throws -> (model: HFCausalLanguageModel, tokenizer: HFTextTokenizer) {
        let decoder = try HFDecoderLoader.load(folder: folder)
        let tokenizer = try HFTokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        return (HFCausalLanguageModel(model: decoder, contextLength: contextLength), HFTextTokenizer(tokenizer: tokenizer, config: decoder.config))
    }
}
