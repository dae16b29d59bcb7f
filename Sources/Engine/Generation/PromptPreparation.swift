import Foundation

/// What a generation starts from.
public enum PromptContent: Sendable, Equatable {
    /// Text that goes to the model as it is: no template, special-token spellings stay text.
    case text(String)
    /// Text already laid out by `template` (a rendered prompt file).
    case rendered(String)
    /// Turns that `template` renders, ending with the opening of the model's turn.
    case messages([ChatMessage])
}

/// A prompt made ready for the generator: the text the model reads and the job that runs it.
public struct PreparedPrompt: Sendable, Equatable {
    public var text: String
    public var job: GenerationJob

    public var tokens: [Int32] { job.promptTokens }
}

/// The one place that turns a prompt into a generation job, so the command line, the server, the
/// workbench, Compare, RAG and evaluation tokenize and stop by the same rule:
/// - text laid out by a chat template (any kind but `none`) is tokenized with special tokens
///   recognised, and the template's end-of-turn text is a stop sequence (for models that spell the
///   marker out instead of producing its token);
/// - plain text keeps special-token spellings as text and adds no stop.
public enum PromptPreparation {
    /// `contextLength`, when given, is checked here so the caller can report it before any work
    /// starts (one position stays free for the first generated token).
    public static func prepare(_ content: PromptContent, template: ChatTemplate, tokenizer: any TextTokenizer,
                               addBeginningOfSequence: Bool, sampler: SamplerSettings, maxTokens: Int,
                               stops: [String] = [], contextLength: Int? = nil) throws -> PreparedPrompt {
        let text: String
        let templated: Bool
        switch content {
        case let .text(plain):
            text = plain
            templated = false
        case let .rendered(laidOut):
            text = laidOut
            templated = template.kind != .none
        case let .messages(messages):
            text = try template.render(messages, addGenerationPrompt: true)
            templated = template.kind != .none
        }
        let tokens = try tokenizer.encode(text, addBeginningOfSequence: addBeginningOfSequence, parseSpecialTokens: templated)
        var stopSequences = stops
        if templated, let marker = template.endOfTurnText, !stopSequences.contains(marker) { stopSequences.append(marker) }
        if let contextLength {
            guard !tokens.isEmpty else { throw GenerationError.emptyPrompt }
            guard tokens.count < contextLength else { throw GenerationError.promptTooLong(tokens: tokens.count, contextLength: contextLength) }
        }
        let job = GenerationJob(promptTokens: tokens, sampler: sampler, maxTokens: maxTokens, stopSequences: stopSequences)
        return PreparedPrompt(text: text, job: job)
    }
}

extension LoadedTextModel {
    /// `PromptPreparation.prepare` with this model's tokenizer and beginning-of-sequence rule.
    public func prepare(_ content: PromptContent, template: ChatTemplate, sampler: SamplerSettings, maxTokens: Int,
                        stops: [String] = [], checkingContext: Bool = false) throws -> PreparedPrompt {
        try PromptPreparation.prepare(content, template: template, tokenizer: generator.tokenizer,
                                      addBeginningOfSequence: addsBeginningOfSequence, sampler: sampler, maxTokens: maxTokens,
                                      stops: stops, contextLength: checkingContext ? contextLength : nil)
    }
}
