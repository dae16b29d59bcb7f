import Engine
import Foundation

/// A causal language model as the alignment methods (DPO, reward model, GRPO) need it: a forward
/// pass on the autograd graph for the policy and for the frozen reference, and the parameters the
/// optimizer updates.
///
/// With LoRA the reference is the same weights with the adapter switched off (no second copy in
/// memory); with full-weight training it is a frozen copy of the starting weights.
public protocol AlignmentModel: AnyObject {
    var hiddenSize: Int { get }
    /// Most positions one sequence may have.
    var contextLength: Int { get }
    /// What the optimizer updates (LoRA A/B, or every weight).
    var trainableParameters: [Parameter] { get }
    /// `log p(targets[i] | tokens[...i])` per position, `[tokens.count]` (0 where the target is
    /// `Graph.ignoreIndex`), for `tokens` = batch sequences of `sequenceLength`, concatenated;
    /// `reference` runs the frozen reference model (the adapter switched off).
    func tokenLogProbs(_ g: Graph, tokens: [Int], targets: [Int], sequenceLength: Int, reference: Bool) throws -> Value
    /// Final hidden states `[tokens.count, hiddenSize]` (what a reward model's scalar head reads).
    func hiddenStates(_ g: Graph, tokens: [Int], sequenceLength: Int, reference: Bool) throws -> Value
    /// A model the generation session samples the current policy weights from. The weights change
    /// every step, so RLHF asks for a fresh one before each round of sampling.
    func makeSamplingModel() throws -> any CausalLanguageModel
}

/// One prompt with one response, as token ids (the prompt includes BOS and any chat markup; the
/// response ends with the end-of-turn / end-of-sequence token when it was complete).
public struct PromptResponse: Sendable, Equatable {
    public var prompt: [Int]
    public var response: [Int]
    public init(prompt: [Int], response: [Int]) {
        self.prompt = prompt
        self.response = response
    }
    public var tokens: [Int] { prompt + response }
}

/// Several prompt/response sequences padded to one length, with the targets that pick out the
/// response tokens: input position i predicts token i + 1; prompt and padding rows are ignored.
public struct ResponseBatch: Sendable {
    public let items: [PromptResponse]
    /// Inputs, `items.count × sequenceLength`, padded with `padToken`.
    public let tokens: [Int]
    public let targets: [Int]
    public let sequenceLength: Int
    /// For each item, the rows (into `tokens`) whose target is one of its response tokens, in order.
    public let responseRows: [[Int]]
    /// For each item, the row of its last token (where a reward model reads its score).
    public let lastRows: [Int]

    public init(_ items: [PromptResponse], padToken: Int = 0) throws {
        guard !items.isEmpty else { throw RunError.invalidConfiguration("an empty batch of responses") }
        for item in items where item.prompt.isEmpty {
            throw RunError.invalidConfiguration("a prompt needs at least one token (the BOS token)")
        }
        let length = items.map { $0.prompt.count + $0.response.count }.max() ?? 1
        var tokens: [Int] = [], targets: [Int] = [], rows: [[Int]] = [], last: [Int] = []
        for (b, item) in items.enumerated() {
            let sequence = item.tokens
            let base = b * length
            var itemRows: [Int] = []
            for i in 0..<length {
                tokens.append(i < sequence.count ? sequence[i] : padToken)
                let next = i + 1
                if next < sequence.count && next >= item.prompt.count {
                    targets.append(sequence[next])
                    itemRows.append(base + i)
                } else {
                    targets.append(Graph.ignoreIndex)
                }
            }
            rows.append(itemRows)
            last.append(base + sequence.count - 1)
        }
        self.items = items
        self.tokens = tokens
        self.targets = targets
        sequenceLength = length
        responseRows = rows
        lastRows = last
    }

    public var responseTokenCount: Int { responseRows.reduce(0) { $0 + $1.count } }
}

/// Per-token log-probabilities of the response tokens of a batch under a model.
public struct ResponseLogProbs {
    public let batch: ResponseBatch
    /// The graph node `[rows]` holding log p(target) per row (0 for ignored rows); seed `backward` with
    /// `seed(tokenGradients:)` to push ∂loss/∂log p into the model.
    public let node: Value
    /// Per item, the log-probs of its response tokens in order.
    public let perToken: [[Double]]

    /// Per item, log p(response | prompt) = Σ log p(token).
    public var sums: [Double] { perToken.map { $0.reduce(0, +) } }

    /// The backward seed for `node` from ∂loss/∂log p of each response token (per item, in order).
    public func seed(tokenGradients: [[Double]]) -> Tensor {
        let seed = Tensor(shape: [batch.tokens.count])
        let p = seed.basePointer
        for (rows, grads) in zip(batch.responseRows, tokenGradients) {
            for (row, grad) in zip(rows, grads) { p[row] += Float(grad) }
        }
        return seed
    }

    /// The backward seed when the loss depends on each item through its sequence log-prob only.
    public func seed(sequenceGradients: [Double]) -> Tensor {
        seed(tokenGradients: zip(batch.responseRows, sequenceGradients).map { rows, g in [Double](repeating: g, count: rows.count) })
    }

    /// Runs `model` on `batch` in `g` (recording or not) and reads the response tokens' log-probs.
    public static func compute(_ model: any AlignmentModel, _ g: Graph, batch: ResponseBatch,
                               reference: Bool) throws -> ResponseLogProbs {
        let node = try model.tokenLogProbs(g, tokens: batch.tokens, targets: batch.targets,
                                           sequenceLength: batch.sequenceLength, reference: reference)
        let values = g.value(node).basePointer
        let perToken = batch.responseRows.map { rows in rows.map { Double(values[$0]) } }
        return ResponseLogProbs(batch: batch, node: node, perToken: perToken)
    }
}

extension AlignmentModel {
    /// Response log-probs with no graph kept (the reference, evaluation, rewards for logging).
    public func responseLogProbs(_ items: [PromptResponse], reference: Bool) throws -> [[Double]] {
        let g = Graph(recording: false)
        return try ResponseLogProbs.compute(self, g, batch: ResponseBatch(items), reference: reference).perToken
    }

    /// Writes the trainable parameters as safetensors (atomically), named as the model names them.
    public func saveTrainable(to url: URL, metadata: [String: String] = [:]) throws {
        try AlignmentWeights.save(trainableParameters, to: url, metadata: metadata)
    }

    /// Loads what `saveTrainable` wrote; every trainable parameter must be in the file with its shape.
    public func loadTrainable(from url: URL) throws {
        try AlignmentWeights.load(trainableParameters, from: url)
    }
}

/// Saving and restoring named parameters as safetensors.
public enum AlignmentWeights {
    public static func save(_ parameters: [Parameter], to url: URL, metadata: [String: String] = [:]) throws {
        var writer = SafetensorsWriter()
        for p in parameters { writer.add(p.name, p.value) }
        writer.metadata = metadata
        try writer.write(to: url)
    }

    public static func load(_ parameters: [Parameter], from url: URL) throws {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(path: url.path)
        } catch {
            throw RunError.checkpointUnreadable(path: url.path, reason: "\(error)")
        }
        for p in parameters {
            guard file.contains(p.name) else {
                throw RunError.checkpointUnreadable(path: url.path, reason: "it has no tensor \(p.name); was it written for another model?")
            }
            let t = try file.tensor(p.name)
            guard t.shape == p.shape else {
                throw RunError.checkpointUnreadable(path: url.path, reason: "\(p.name) has shape \(t.shape), the model \(p.shape)")
            }
            p.value = t.copy()
        }
    }
}

/// Lets the generation session sample from a model that has only a training forward pass: each
/// `forward` re-runs the whole sequence through `lastLogits` and keeps no key/value cache. That
/// costs O(length²), which is fine for the tiny models it serves.
public final class RecomputingSamplingModel: CausalLanguageModel {
    public let vocabularySize: Int
    public let contextLength: Int
    private let lastLogits: ([Int]) throws -> [Float]
    private var tokens: [Int] = []

    /// `lastLogits(tokens)` returns the `vocabularySize` logits after the last of `tokens`.
    public init(vocabularySize: Int, contextLength: Int, lastLogits: @escaping ([Int]) throws -> [Float]) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.lastLogits = lastLogits
    }

    public var maximumBatchSize: Int { contextLength }

    public func forward(tokens new: [Int32], startingAt position: Int, logits: UnsafeMutableBufferPointer<Float>) throws {
        guard position == tokens.count else {
            throw GenerationError.modelFailed("sampling model holds \(tokens.count) positions, asked to continue at \(position)")
        }
        tokens.append(contentsOf: new.map(Int.init))
        let out = try lastLogits(tokens)
        guard out.count == vocabularySize, logits.count >= vocabularySize else {
            throw GenerationError.modelFailed("\(out.count) logits for a vocabulary of \(vocabularySize)")
        }
        for j in 0..<vocabularySize { logits[j] = out[j] }
    }

    public func truncateCache(to count: Int) -> Int {
        if count < tokens.count { tokens.removeSubrange(max(count, 0)...) }
        return tokens.count
    }
}
