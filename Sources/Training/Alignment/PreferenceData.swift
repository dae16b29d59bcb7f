import Engine
import Foundation

/// How prompts and responses become tokens for alignment: the prompt as a user turn of the chat
/// template (ending with the opening of the model's turn), the response as plain text followed by
/// the end-of-turn tokens, so the model learns where an answer stops.
public final class ConversationFormat {
    public let tokenizer: any TextTokenizer
    /// nil: no chat markup; the prompt is followed by a newline.
    public let template: ChatTemplate?
    /// Token ids appended to every complete response (`<end_of_turn>` for Gemma, EOS otherwise).
    public let responseEnd: [Int]
    /// Longest response kept (longer ones are cut, and lose their end tokens).
    public let maxResponseTokens: Int
    /// Longest prompt kept (longer ones keep their last tokens after BOS).
    public let maxPromptTokens: Int

    public init(tokenizer: any TextTokenizer, template: ChatTemplate?, responseEnd: [Int],
                maxPromptTokens: Int = 256, maxResponseTokens: Int = 256) {
        self.tokenizer = tokenizer
        self.template = template
        self.responseEnd = responseEnd
        self.maxPromptTokens = max(2, maxPromptTokens)
        self.maxResponseTokens = max(1, maxResponseTokens)
    }

    /// Chat-template format for a tokenizer whose end-of-turn marker is a special token
    /// (Gemma: `<end_of_turn>`); falls back on the tokenizer's end-of-generation token.
    public static func chat(tokenizer: any TextTokenizer, template: ChatTemplate,
                            maxPromptTokens: Int = 256, maxResponseTokens: Int = 256) throws -> ConversationFormat {
        var end: [Int] = []
        if let marker = template.endOfTurnText {
            end = try tokenizer.encode(marker, addBeginningOfSequence: false, parseSpecialTokens: true).map(Int.init)
        }
        if end.isEmpty, let eos = tokenizer.endOfGenerationTokens.min() { end = [Int(eos)] }
        return ConversationFormat(tokenizer: tokenizer, template: template, responseEnd: end,
                                  maxPromptTokens: maxPromptTokens, maxResponseTokens: maxResponseTokens)
    }

    public func promptTokens(_ prompt: String) throws -> [Int] {
        let text = try template?.render([.user(prompt)], addGenerationPrompt: true) ?? prompt + "\n"
        let ids = try tokenizer.encode(text, addBeginningOfSequence: true, parseSpecialTokens: template != nil).map(Int.init)
        guard ids.count > maxPromptTokens else { return ids }
        return [ids[0]] + ids.suffix(maxPromptTokens - 1)
    }

    public func responseTokens(_ response: String) throws -> [Int] {
        let ids = try tokenizer.encode(response, addBeginningOfSequence: false, parseSpecialTokens: false).map(Int.init)
            + responseEnd
        return Array(ids.prefix(maxResponseTokens))
    }

    public func encode(_ example: DatasetExample) throws -> EncodedPreference {
        guard case let .preference(prompt, chosen, rejected) = example.record else {
            throw DatasetError.wrongKind(path: "line \(example.line)", expected: [.preference], found: example.record.kind)
        }
        let p = try promptTokens(prompt)
        return EncodedPreference(chosen: PromptResponse(prompt: p, response: try responseTokens(chosen)),
                                 rejected: PromptResponse(prompt: p, response: try responseTokens(rejected)),
                                 line: example.line)
    }

    /// Text of sampled or stored response tokens, without the end markers.
    public func text(ofResponse tokens: [Int]) -> String {
        var t = tokens
        if t.count >= responseEnd.count, Array(t.suffix(responseEnd.count)) == responseEnd { t.removeLast(responseEnd.count) }
        return tokenizer.decode(t.map { Int32($0) })
    }
}

/// One preference pair as tokens.
public struct EncodedPreference: Sendable, Equatable {
    public var chosen: PromptResponse
    public var rejected: PromptResponse
    /// Line of the JSONL file it came from.
    public var line: Int
}

/// The order in which a run visits its examples: epoch e is a seeded shuffle of all of them, and
/// step s takes the next `batchSize`. The position is a function of the step, so a resumed run
/// continues with exactly the examples the uninterrupted one would have seen.
public struct EpochOrder: Sendable {
    public let count: Int
    public let seed: UInt64

    public init(count: Int, seed: UInt64) {
        self.count = count
        self.seed = seed
    }

    /// Example indices for step `step` (1-based).
    public func indices(step: Int, batchSize: Int) -> [Int] {
        guard count > 0 else { return [] }
        var cachedEpoch = -1
        var order: [Int] = []
        return (0..<batchSize).map { k in
            let global = (step - 1) * batchSize + k
            let epoch = global / count
            if epoch != cachedEpoch {
                order = Array(0..<count)
                var generator = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
                generator.shuffle(&order)
                cachedEpoch = epoch
            }
            return order[global % count]
        }
    }
}
