import Engine
import Foundation

/// The small trainable `DecoderModel` as an `AlignmentModel`, trained on all its weights. Its
/// reference is a frozen copy of the weights it started from (a full-weight policy has no adapter
/// to switch off); tests and tiny experiments use it, the real models use LoRA.
public final class DecoderAlignmentModel: AlignmentModel {
    public let policy: DecoderModel
    public let reference: DecoderModel
    public let contextLength: Int

    /// `policy`'s current weights become the frozen reference.
    public init(policy: DecoderModel, contextLength: Int = 512) throws {
        self.policy = policy
        self.contextLength = contextLength
        reference = try DecoderModel(config: policy.config, seed: 0)
        for p in reference.parameters {
            guard let source = policy.parameter(p.name) else {
                throw RunError.invalidConfiguration("reference copy: the policy has no parameter \(p.name)")
            }
            p.value = source.value.copy()
            p.isTrainable = false
        }
    }

    public var hiddenSize: Int { policy.config.hiddenSize }
    public var trainableParameters: [Parameter] { policy.parameters.filter(\.isTrainable) }

    public func hiddenStates(_ g: Graph, tokens: [Int], sequenceLength: Int, reference: Bool) throws -> Value {
        try (reference ? self.reference : policy).hiddenStates(g, tokens: tokens, sequenceLength: sequenceLength)
    }

    public func tokenLogProbs(_ g: Graph, tokens: [Int], targets: [Int], sequenceLength: Int, reference: Bool) throws -> Value {
        let logits = try (reference ? self.reference : policy).logits(g, tokens: tokens, sequenceLength: sequenceLength)
        return try g.targetLogProbs(logits: logits, targets: targets)
    }

    public func makeSamplingModel() throws -> any CausalLanguageModel {
        let policy = self.policy
        let vocab = policy.config.vocabularySize
        return RecomputingSamplingModel(vocabularySize: vocab, contextLength: contextLength) { tokens in
            let g = Graph(recording: false)
            let out = g.value(try policy.logits(g, tokens: tokens, sequenceLength: tokens.count))
            return Array(UnsafeBufferPointer(start: out.basePointer + (tokens.count - 1) * vocab, count: vocab))
        }
    }
}

/// Bytes as tokens (ids 0–255) plus BOS (256) and EOS (257): a tokenizer for tiny models that need
/// no vocabulary file.
public final class ByteTokenizer: TextTokenizer {
    public static let beginningOfSequence: Int32 = 256
    public static let endOfSequence: Int32 = 257
    public static let vocabularySize = 258

    public init() {}

    public func encode(_ text: String, addBeginningOfSequence: Bool, parseSpecialTokens: Bool) throws -> [Int32] {
        (addBeginningOfSequence ? [Self.beginningOfSequence] : []) + text.utf8.map { Int32($0) }
    }

    public func bytes(of token: Int32) -> [UInt8] { token >= 0 && token < 256 ? [UInt8(token)] : [] }

    public var endOfGenerationTokens: Set<Int32> { [Self.endOfSequence] }
}
