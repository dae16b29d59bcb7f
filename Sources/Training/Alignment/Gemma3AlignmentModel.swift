import Engine
import Foundation

/// Gemma 3 with LoRA adapters on its frozen (quantized) GGUF base as an `AlignmentModel`: the
/// reference is the same model with the adapters switched off, and sampling merges the current
/// adapters into a generation session (with its key/value cache) once per round of sampling.
public final class Gemma3AlignmentModel: AlignmentModel {
    public let trainable: Gemma3TrainableModel
    public let contextLength: Int

    public init(trainable: Gemma3TrainableModel, contextLength: Int = 1024) throws {
        guard trainable.lora != nil else {
            throw RunError.invalidConfiguration("alignment of a GGUF model trains LoRA adapters; give a LoRA configuration")
        }
        self.trainable = trainable
        self.contextLength = min(contextLength, trainable.hyperparameters.contextLength)
    }

    public var hiddenSize: Int { trainable.hyperparameters.embeddingLength }
    public var trainableParameters: [Parameter] { trainable.trainableParameters }

    public func tokenLogProbs(_ g: Graph, tokens: [Int], targets: [Int], sequenceLength: Int, reference: Bool) throws -> Value {
        try trainable.tokenLogProbs(g, batch: TokenBatch(tokens: tokens, targets: targets, sequenceLength: sequenceLength),
                                    adapters: !reference, dropoutSeed: nil)
    }

    public func hiddenStates(_ g: Graph, tokens: [Int], sequenceLength: Int, reference: Bool) throws -> Value {
        try trainable.finalHidden(g, tokens: tokens, sequenceLength: sequenceLength, adapters: !reference)
    }

    public func makeSamplingModel() throws -> any CausalLanguageModel {
        guard let adapter = trainable.peftAdapter(baseModel: nil) else {
            throw RunError.invalidConfiguration("the model has no adapters to sample with")
        }
        return try trainable.model.applying(adapter).makeSession(contextLength: contextLength)
    }
}
