import CBLAS
import Foundation

/// Keys and values of the positions a decoder has seen, per layer, so a new token attends over
/// the past without recomputing it. Rows are positions; each row holds `kvHeads × headDim` values.
// @unchecked Sendable: one owner at a time: a cache belongs to one model session, whose generator's serial queue is the only writer.
public final class DecoderKVCache: @unchecked Sendable {
    public let layerCount: Int
    public let capacity: Int
    public let width: Int
    let keys: [TensorStorage]
    let values: [TensorStorage]
    /// Positions held (the next token sits at this position).
    public private(set) var count = 0

    public enum CacheError: Error, CustomStringConvertible, Equatable {
        case full(capacity: Int, requested: Int)
        public var description: String {
            switch self {
            case let .full(capacity, requested):
                return "the context holds \(capacity) positions but \(requested) are needed; shorten the prompt or the generation"
            }
        }
    }

    public init(layers: Int, capacity: Int, width: Int) {
        layerCount = layers
        self.capacity = capacity
        self.width = width
        keys = (0..<layers).map { _ in TensorStorage(count: capacity * width) }
        values = (0..<layers).map { _ in TensorStorage(count: capacity * width) }
    }

    /// Drops every position from `count` on (a rolled-back prompt suffix).
    public func truncate(to newCount: Int) { count = max(0, min(count, newCount)) }

    func reserve(_ tokens: Int) throws {
        guard count + tokens <= capacity else { throw CacheError.full(capacity: capacity, requested: count + tokens) }
    }

    /// Copies `k` and `v` (`[T, width]`, contiguous) into layer `layer` at positions `count ..< count + T`.
    func store(layer: Int, k: Tensor, v: Tensor) {
        let t = k.shape[0]
        (keys[layer].pointer + count * width).update(from: k.basePointer, count: t * width)
        (values[layer].pointer + count * width).update(from: v.basePointer, count: t * width)
    }

    func advance(by tokens: Int) { count += tokens }
}

enum CausalAttention {
    /// Attention of `q` (`[T, heads × headDim]`, tokens at positions `start ..< start + T`) over the
    /// cached keys/values `0 ..< start + T` of `layer`, each query seeing only its past and itself.
    /// Query head h reads key/value head h / (heads / kvHeads) (grouped-query attention).
    static func attend(q: Tensor, cache: DecoderKVCache, layer: Int, start: Int, heads: Int, kvHeads: Int,
                       headDim d: Int, scale: Float) -> Tensor {
        let t = q.shape[0]
        let total = start + t
        let qWidth = heads * d, kvWidth = kvHeads * d
        let group = heads / kvHeads
        let out = Tensor(shape: [t, qWidth])
        let qp = q.basePointer, op = out.basePointer
        let kp = cache.keys[layer].pointer, vp = cache.values[layer].pointer
        Parallel.forRanges(heads) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: t * total)
            defer { scores.deallocate() }
            for head in range {
                let kvOff = (head / group) * d
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(total), Int32(d), scale,
                            qp + head * d, Int32(qWidth), kp + kvOff, Int32(kvWidth), 0, scores, Int32(total))
                for row in 0..<t {
                    let r = scores + row * total
                    let visible = start + row + 1
                    for c in visible..<total { r[c] = -.infinity }
                    Kernels.softmax(r, output: r, total)
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(total), 1,
                            scores, Int32(total), vp + kvOff, Int32(kvWidth), 0, op + head * d, Int32(qWidth))
            }
        }
        return out
    }
}

/// A decoder-only model read from a Hugging Face folder (GPT-2 or the Llama family).
public protocol HFDecoderModel: AnyObject, Sendable {
    var config: HFModelConfig { get }
    /// A cache for `capacity` positions (at most `config.maxPositionEmbeddings`).
    func makeCache(capacity: Int) -> DecoderKVCache
    /// Runs `ids` at the positions after those in `cache`, appends them to it, and returns the
    /// logits of every token, `[ids.count, vocabSize]`.
    func forward(_ ids: [Int], cache: DecoderKVCache) throws -> Tensor
}

public extension HFDecoderModel {
    /// Logits of a whole sequence from an empty cache.
    func logits(_ ids: [Int]) throws -> Tensor {
        try forward(ids, cache: makeCache(capacity: max(1, ids.count)))
    }
}

/// Loads the decoder a folder's config.json names.
public enum HFDecoderLoader {
    public static func load(folder: URL) throws -> any HFDecoderModel {
        let config = try HFModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let weights = try SafetensorsWeights(folder: folder)
        switch config.modelType {
        case "gpt2": return try GPT2Model(config: config, weights: weights)
        case "llama", "qwen2", "mistral": return try LlamaModel(config: config, weights: weights)
        default:
            throw ModelConfigError.unsupportedValue(path: config.path, key: "model_type", value: config.modelType,
                                                    supported: "gpt2, llama, qwen2, mistral (decoders)")
        }
    }
}

enum DecoderInput {
    static func check(_ ids: [Int], vocab: Int, cache: DecoderKVCache) throws {
        guard !ids.isEmpty else { throw ModelError.emptyInput }
        for id in ids where id < 0 || id >= vocab {
            throw TensorError.indexOutOfRange(operation: "token id", index: id, bound: vocab)
        }
        try cache.reserve(ids.count)
    }
}
