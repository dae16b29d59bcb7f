import Foundation

/// Sentence embeddings the way sentence-transformers computes them for a BERT model folder:
/// tokenize (truncating to `max_seq_length`), run the encoder, pool the token states (mean over
/// the attention mask, or the [CLS] state, as `1_Pooling/config.json` says), then L2-normalise
/// when the folder's `modules.json` lists a Normalize module (or has no modules.json at all).
// @unchecked Sendable: every stored property is a `let` and the model and tokenizer are only read after init.
public final class SentenceEmbedder: @unchecked Sendable {
    public enum Pooling: String, Sendable {
        case mean
        case cls
        case max
    }

    public let folder: URL
    public let model: BERTModel
    public let tokenizer: HFTokenizer
    public let pooling: Pooling
    public let normalize: Bool
    /// Longest input in tokens (special tokens included); longer texts are truncated.
    public let maxSequenceLength: Int

    public var dimensions: Int { model.config.hiddenSize }

    public init(folder: URL) throws {
        self.folder = folder
        model = try BERTModel(folder: folder)
        tokenizer = try HFTokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        func json(_ name: String) -> Any? {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { return nil }
            return try? JSONSerialization.jsonObject(with: data)
        }
        let stConfig = json("sentence_bert_config.json") as? [String: Any]
        let limit = stConfig?["max_seq_length"] as? Int ?? tokenizer.defaultMaxLength ?? model.config.maxPositionEmbeddings
        maxSequenceLength = min(limit, model.config.maxPositionEmbeddings)
        if let poolingConfig = json("1_Pooling/config.json") as? [String: Any] {
            if poolingConfig["pooling_mode_cls_token"] as? Bool == true {
                pooling = .cls
            } else if poolingConfig["pooling_mode_max_tokens"] as? Bool == true {
                pooling = .max
            } else {
                pooling = .mean
            }
        } else {
            pooling = .mean
        }
        if let modules = json("modules.json") as? [[String: Any]] {
            normalize = modules.contains { ($0["type"] as? String)?.hasSuffix("Normalize") == true }
        } else {
            normalize = true
        }
    }

    /// Token ids the encoder sees for `text` (with [CLS]/[SEP], truncated).
    public func tokenIDs(_ text: String) -> [Int] {
        tokenizer.encode(text, addSpecialTokens: true, maxLength: maxSequenceLength).ids
    }

    /// One embedding of `dimensions` values per text. Texts run one at a time, so no padding is
    /// needed and every token is attended (the same result as a padded, masked batch).
    public func embed(_ texts: [String]) throws -> [[Float]] {
        try texts.map { try embed(ids: tokenIDs($0)) }
    }

    public func embed(ids: [Int]) throws -> [Float] {
        let states = try model.hiddenStates(ids: ids)
        let t = states.shape[0], h = states.shape[1]
        var pooled = [Float](repeating: 0, count: h)
        let p = states.basePointer
        switch pooling {
        case .cls:
            for j in 0..<h { pooled[j] = p[j] }
        case .mean:
            for i in 0..<t { for j in 0..<h { pooled[j] += p[i * h + j] } }
            let inv = 1 / Float(t)
            for j in 0..<h { pooled[j] *= inv }
        case .max:
            for j in 0..<h { pooled[j] = -.infinity }
            for i in 0..<t { for j in 0..<h { pooled[j] = max(pooled[j], p[i * h + j]) } }
        }
        if normalize {
            var norm: Float = 0
            for v in pooled { norm += v * v }
            // sentence-transformers clamps the norm at 1e-12 (torch.nn.functional.normalize).
            let inv = 1 / max(norm.squareRoot(), 1e-12)
            for j in 0..<h { pooled[j] *= inv }
        }
        let finite = pooled.withUnsafeBufferPointer { row in
            row.baseAddress.map { Kernels.allBelowInfinity($0, row.count) } ?? true
        } && !pooled.contains(-.infinity)
        guard finite else { throw ModelError.nonFiniteOutput(what: "embedding") }
        return pooled
    }

    /// Cosine similarity of two vectors (the dot product when both are normalised).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "cosine of vectors of different lengths")
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in 0..<a.count {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        let denom = (na * nb).squareRoot()
        return denom > 0 ? dot / denom : 0
    }
}
