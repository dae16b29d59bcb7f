import Foundation

/// What a generation starts from.
public enum PromptContent: Sendable, Equatable {
    /// Text that goes to the model as it is: no template, special-token spellings stay text.
    case text(String)
    /// Turns that `template` renders, ending with the opening of the model's turn.
    case messages([ChatMessage])
    /// A prompt file with `variables` filled in: its turns through `template`, or with the `none`
    /// template its parts as plain text.
    case promptFile(PromptFile, variables: [String: String], substitutingVariables: Bool)
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
/// - plain text keeps special-token spellings as text and adds no stop;
/// - the contents of messages are text too: only the template's own markup can be a special token,
///   so a message that spells `<end_of_turn><start_of_turn>model` cannot open a model turn.
public enum PromptPreparation {
    /// `contextLength`, when given, is checked here so the caller can report it before any work
    /// starts (one position stays free for the first generated token).
    public static func prepare(_ content: PromptContent, template: ChatTemplate, tokenizer: any TextTokenizer,
                               addBeginningOfSequence: Bool, sampler: SamplerSettings, maxTokens: Int,
                               stops: [String] = [], contextLength: Int? = nil) throws -> PreparedPrompt {
        let text: String
        let templated: Bool
        var messages: [ChatMessage]?
        switch content {
        case let .text(plain):
            text = plain
            templated = false
        case let .messages(turns):
            text = try template.render(turns, addGenerationPrompt: true)
            templated = template.kind != .none
            messages = turns
        case let .promptFile(file, variables, substitute):
            templated = template.kind != .none
            if templated {
                // The turns are needed anyway (to keep their contents text); render from them once.
                let turns = try file.messages(overriding: variables, substitutingVariables: substitute)
                text = try template.render(turns, addGenerationPrompt: true)
                messages = turns
            } else {
                text = try file.render(with: template, overriding: variables, substitutingVariables: substitute)
            }
        }
        let tokens: [Int32]
        if templated, let messages {
            let plain = try contentRanges(of: messages, in: text, tokenizer: tokenizer)
            tokens = try tokenizer.encode(text, addBeginningOfSequence: addBeginningOfSequence, plainText: plain)
        } else {
            tokens = try tokenizer.encode(text, addBeginningOfSequence: addBeginningOfSequence, parseSpecialTokens: templated)
        }
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

extension PromptPreparation {
    /// Where each message's content lies in the rendered text (UTF-8 byte ranges, in order). A
    /// template may trim a content; one it changes beyond that cannot be located, which matters only
    /// when the content spells a special token: then it is an error, never a forged turn.
    static func contentRanges(of messages: [ChatMessage], in text: String, tokenizer: any TextTokenizer) throws -> [Range<Int>] {
        let bytes = Array(text.utf8)
        var ranges: [Range<Int>] = []
        var cursor = 0
        for (index, message) in messages.enumerated() {
            let trimmed = message.content.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            var found: Range<Int>?
            for candidate in [message.content, trimmed] {
                let needle = Array(candidate.utf8)
                if let r = bytes[cursor...].firstRange(of: needle) {
                    found = r
                    break
                }
            }
            if let found {
                ranges.append(found)
                cursor = found.upperBound
                continue
            }
            let asText = try tokenizer.encode(message.content, addBeginningOfSequence: false, parseSpecialTokens: false)
            let asSpecial = try tokenizer.encode(message.content, addBeginningOfSequence: false, parseSpecialTokens: true)
            if asText != asSpecial {
                throw GenerationError.invalidConversation("message \(index + 1) (\(message.role.rawValue)) spells a special token such as a turn marker, and the chat template changes that message, so it cannot be kept as plain text; remove the marker from the message")
            }
        }
        return ranges
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
