import Engine
import Foundation

/// A record turned into tokens, with which tokens the loss scores.
public struct TokenizedExample: Sendable, Equatable {
    public var tokens: [Int]
    /// `scored[i]`: the prediction of `tokens[i]` (from the tokens before it) counts in the loss.
    public var scored: [Bool]

    public init(tokens: [Int], scored: [Bool]) {
        self.tokens = tokens
        self.scored = scored
    }
}

/// How records become token sequences for causal-LM training.
public struct SFTFormatting: Sendable {
    /// Chat markup for prompt/completion, instruction and conversation records (`.none`: plain text,
    /// prompt and completion joined without markup).
    public var template: ChatTemplate
    /// Score only completion / assistant tokens (true) or every token after BOS (false).
    public var completionOnly: Bool
    /// Token appended (and scored) after a completion when the template has no end-of-turn marker.
    public var endOfSequence: Int?
    public var beginningOfSequence: Bool

    public init(template: ChatTemplate, completionOnly: Bool = true, endOfSequence: Int?, beginningOfSequence: Bool = true) {
        self.template = template
        self.completionOnly = completionOnly
        self.endOfSequence = endOfSequence
        self.beginningOfSequence = beginningOfSequence
    }

    /// The pieces of text a record is made of, each marked as completion (trained on) or context.
    public func segments(_ record: DatasetRecord) throws -> [(text: String, completion: Bool)] {
        switch record {
        case let .text(text):
            return [(text, true)]
        case let .promptCompletion(prompt, completion):
            return try conversationSegments([.user(prompt), .assistant(completion)])
        case let .instruction(instruction, input, output):
            let user = input.isEmpty ? instruction : instruction + "\n\n" + input
            return try conversationSegments([.user(user), .assistant(output)])
        case let .conversation(messages):
            return try conversationSegments(messages)
        case .preference:
            throw DatasetError.wrongKind(path: "record", expected: [.text, .promptCompletion, .conversation, .instruction],
                                         found: .preference)
        }
    }

    /// Splits a rendered conversation at the assistant turns: the text up to each assistant turn
    /// (rendered with the generation prompt) is context; the rest of the turn — its content and the
    /// end-of-turn marker — is completion.
    private func conversationSegments(_ messages: [ChatMessage]) throws -> [(text: String, completion: Bool)] {
        guard template.kind != .none else {
            // Plain text: context and completion joined by nothing but what the data holds.
            return messages.map { ($0.content, $0.role == .assistant) }
        }
        var out: [(String, Bool)] = []
        var consumed = ""
        for (i, message) in messages.enumerated() where message.role == .assistant {
            let before = try template.render(Array(messages[..<i]), addGenerationPrompt: true)
            let through = try template.render(Array(messages[...i]), addGenerationPrompt: false)
            guard before.hasPrefix(consumed), through.hasPrefix(before) else {
                throw DatasetError.malformedLine(path: "record", line: 0, reason: "the chat template does not render turn by turn")
            }
            out.append((String(before.dropFirst(consumed.count)), false))
            out.append((String(through.dropFirst(before.count)), true))
            consumed = through
        }
        let all = try template.render(messages, addGenerationPrompt: false)
        if all.count > consumed.count, all.hasPrefix(consumed) { out.append((String(all.dropFirst(consumed.count)), false)) }
        return out.filter { !$0.0.isEmpty }
    }

    /// Tokens of `record` and which of them the loss scores.
    public func tokenize(_ record: DatasetRecord, with tokenizer: any TextTokenizer) throws -> TokenizedExample {
        var tokens: [Int] = [], scored: [Bool] = []
        if beginningOfSequence {
            let bos = try tokenizer.encode("", addBeginningOfSequence: true, parseSpecialTokens: true)
            tokens += bos.map(Int.init)
            scored += bos.map { _ in false }
        }
        let parts = try segments(record)
        for part in parts {
            let ids = try tokenizer.encode(part.text, addBeginningOfSequence: false, parseSpecialTokens: template.kind != .none)
            tokens += ids.map(Int.init)
            scored += ids.map { _ in part.completion || !completionOnly }
        }
        if template.kind == .none || template.endOfTurnText == nil, let eos = endOfSequence {
            tokens.append(eos)
            scored.append(true)
        }
        return TokenizedExample(tokens: tokens, scored: scored)
    }
}

/// Fixed-length rows for batched training: `inputs[i]` predicts `targets[i]` (`Graph.ignoreIndex`
/// where nothing is scored).
public struct TrainingRow: Sendable, Equatable {
    public var inputs: [Int]
    public var targets: [Int]
}

public enum SequenceLayout: String, Sendable, Codable, CaseIterable {
    /// One example per row, cut at the sequence length, padded with ignored positions.
    case pad
    /// Examples concatenated into one stream and cut into full rows (no padding; attention crosses
    /// example boundaries, as Hugging Face's packing without position resets does).
    case pack

    /// Rows of `length` positions from `examples`. Examples that score no token are dropped.
    public func rows(_ examples: [TokenizedExample], length: Int, padToken: Int) -> [TrainingRow] {
        guard length > 0 else { return [] }
        switch self {
        case .pad:
            return examples.compactMap { example in
                let n = min(example.tokens.count, length + 1)
                guard n >= 2 else { return nil }
                var inputs = Array(example.tokens[0..<(n - 1)])
                var targets = (1..<n).map { example.scored[$0] ? example.tokens[$0] : Graph.ignoreIndex }
                guard targets.contains(where: { $0 != Graph.ignoreIndex }) else { return nil }
                inputs += Array(repeating: padToken, count: length - inputs.count)
                targets += Array(repeating: Graph.ignoreIndex, count: length - targets.count)
                return TrainingRow(inputs: inputs, targets: targets)
            }
        case .pack:
            var stream: [Int] = [], scored: [Bool] = []
            for e in examples {
                stream += e.tokens
                scored += e.scored
            }
            var out: [TrainingRow] = []
            var start = 0
            while start + 1 < stream.count {
                let end = min(stream.count, start + length + 1)
                var inputs = Array(stream[start..<(end - 1)])
                var targets = ((start + 1)..<end).map { scored[$0] ? stream[$0] : Graph.ignoreIndex }
                inputs += Array(repeating: padToken, count: length - inputs.count)
                targets += Array(repeating: Graph.ignoreIndex, count: length - targets.count)
                if targets.contains(where: { $0 != Graph.ignoreIndex }) { out.append(TrainingRow(inputs: inputs, targets: targets)) }
                start += length
            }
            return out
        }
    }
}

/// Training rows in a seeded order: epoch e visits every row once in the order of a shuffle seeded
/// with (seed, e), so the batch of any step is a pure function of the step — a resumed run sees
/// exactly the batches an uninterrupted one would.
public struct BatchSchedule: Sendable {
    public let rows: [TrainingRow]
    public let batchSize: Int
    public let seed: UInt64

    public init(rows: [TrainingRow], batchSize: Int, seed: UInt64) throws {
        guard !rows.isEmpty else {
            throw RunError.invalidConfiguration("the training data gave no rows with scored tokens; check the data and --seq-len")
        }
        guard batchSize > 0 else { throw RunError.invalidConfiguration("batch size must be positive") }
        self.rows = rows
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Rows of micro-batch `index` (0-based over the whole run).
    public func batch(_ index: Int) -> [TrainingRow] {
        let n = rows.count
        var out: [TrainingRow] = []
        for slot in (index * batchSize)..<((index + 1) * batchSize) {
            let epoch = slot / n, position = slot % n
            out.append(rows[order(epoch: epoch)[position]])
        }
        return out
    }

    private func order(epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        var order = Array(0..<rows.count)
        generator.shuffle(&order)
        return order
    }

    /// A batch as one `TokenBatch`.
    public static func tokenBatch(_ rows: [TrainingRow]) throws -> TokenBatch {
        guard let length = rows.first?.inputs.count else {
            throw RunError.invalidConfiguration("empty batch")
        }
        return try TokenBatch(tokens: rows.flatMap(\.inputs), targets: rows.flatMap(\.targets), sequenceLength: length)
    }
}
