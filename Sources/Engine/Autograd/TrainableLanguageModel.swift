/// Sequences for one forward pass: `batch` rows of `sequenceLength` tokens, concatenated, and the
/// token expected after each position (`Graph.ignoreIndex` where nothing is scored: prompt tokens,
/// padding).
public struct TokenBatch: Sendable, Equatable {
    public var tokens: [Int]
    public var targets: [Int]
    public var sequenceLength: Int

    public init(tokens: [Int], targets: [Int], sequenceLength: Int) throws {
        guard sequenceLength > 0, !tokens.isEmpty, tokens.count % sequenceLength == 0, targets.count == tokens.count else {
            throw AutogradError.invalidArgument(operation: "token batch", reason:
                "\(tokens.count) tokens and \(targets.count) targets must both be a whole number of sequences of \(sequenceLength)")
        }
        self.tokens = tokens
        self.targets = targets
        self.sequenceLength = sequenceLength
    }

    /// Teacher forcing on one sequence: tokens[0..<n-1] predict tokens[1..<n]; `scored(i)` says whether
    /// the prediction of token i (i ≥ 1) counts.
    public init(sequence: [Int], scored: (Int) -> Bool = { _ in true }) throws {
        guard sequence.count >= 2 else {
            throw AutogradError.invalidArgument(operation: "token batch", reason: "a sequence needs at least 2 tokens")
        }
        try self.init(tokens: Array(sequence.dropLast()),
                      targets: (1..<sequence.count).map { scored($0) ? sequence[$0] : Graph.ignoreIndex },
                      sequenceLength: sequence.count - 1)
    }

    public var batchSize: Int { tokens.count / sequenceLength }
    /// Positions whose target counts.
    public var scoredCount: Int { targets.reduce(0) { $0 + ($1 == Graph.ignoreIndex ? 0 : 1) } }
}

/// A causal language model trained through the autograd graph: full fine-tuning (every weight a
/// `Parameter`) or adapters on a frozen base. Preference methods (DPO, GRPO) need only this.
public protocol TrainableLanguageModel: AnyObject {
    /// The parameters the optimizer updates (LoRA A/B, or every weight for full fine-tuning).
    var trainableParameters: [Parameter] { get }

    /// `log p(targets[i] | tokens[..i])` per position, `[tokens.count]` (0 where the target is ignored).
    /// `adapters: false` runs the frozen base alone (the reference policy of DPO); a model without
    /// adapters ignores it. `dropoutSeed` turns dropout on (training) with a reproducible mask; nil
    /// means evaluation.
    func tokenLogProbs(_ g: Graph, batch: TokenBatch, adapters: Bool, dropoutSeed: UInt64?) throws -> Value
}

public extension TrainableLanguageModel {
    /// Mean next-token cross-entropy over the scored positions.
    func loss(_ g: Graph, batch: TokenBatch, dropoutSeed: UInt64? = nil) throws -> Value {
        g.meanNegativeLogLikelihood(try tokenLogProbs(g, batch: batch, adapters: true, dropoutSeed: dropoutSeed),
                                    targets: batch.targets)
    }

    /// Per-token log-probs as plain numbers, without recording a backward pass (reference models, evaluation).
    func evaluateLogProbs(batch: TokenBatch, adapters: Bool = true) throws -> [Float] {
        let g = Graph(recording: false)
        return g.value(try tokenLogProbs(g, batch: batch, adapters: adapters, dropoutSeed: nil)).toArray()
    }
}
