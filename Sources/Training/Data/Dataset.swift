import Engine
import Foundation

/// A training or evaluation record, in any of the JSONL layouts the ecosystem uses.
public enum DatasetRecord: Sendable, Equatable {
    /// `{"text": …}`: plain text, every token trained on.
    case text(String)
    /// `{"prompt": …, "completion": …}`.
    case promptCompletion(prompt: String, completion: String)
    /// `{"messages": [{"role", "content"}, …]}` (role "model" is read as assistant).
    case conversation([ChatMessage])
    /// `{"instruction": …, "input": …, "output": …}` (Alpaca); `input` may be empty.
    case instruction(instruction: String, input: String, output: String)
    /// `{"prompt": …, "chosen": …, "rejected": …}` preference pair (DPO, reward model).
    case preference(prompt: String, chosen: String, rejected: String)

    public var kind: DatasetKind {
        switch self {
        case .text: return .text
        case .promptCompletion: return .promptCompletion
        case .conversation: return .conversation
        case .instruction: return .instruction
        case .preference: return .preference
        }
    }
}

public enum DatasetKind: String, Sendable, Codable, CaseIterable {
    case text, promptCompletion = "prompt_completion", conversation = "messages", instruction, preference
}

/// A record with where it came from, so every later error can name the file and line.
public struct DatasetExample: Sendable, Equatable {
    public let record: DatasetRecord
    public let line: Int
    public init(record: DatasetRecord, line: Int) {
        self.record = record
        self.line = line
    }
}

public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformedLine(path: String, line: Int, reason: String)
    case empty(path: String)
    case mixedKinds(path: String, line: Int, expected: DatasetKind, found: DatasetKind)
    case wrongKind(path: String, expected: [DatasetKind], found: DatasetKind)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .malformedLine(path, line, reason):
            return "\(path):\(line): \(reason); fix the line or pass --on-error skip to leave it out"
        case let .empty(path):
            return "\(path) has no usable records; each line must be one JSON object"
        case let .mixedKinds(path, line, expected, found):
            return "\(path):\(line): a \(found.rawValue) record in a \(expected.rawValue) dataset; use one layout per file"
        case let .wrongKind(path, expected, found):
            return "\(path) holds \(found.rawValue) records, this run needs \(expected.map(\.rawValue).joined(separator: " or "))"
        }
    }
}

/// What to do with a malformed line.
public enum MalformedLinePolicy: String, Sendable, Codable, CaseIterable {
    /// Fail the whole load with the file and line of the first bad line.
    case stop
    /// Leave the line out, keep a warning naming it, and go on.
    case skip
}

/// Records read from a JSONL file, with the lines that were skipped.
public struct Dataset: Sendable {
    public let path: String
    public let examples: [DatasetExample]
    /// One message per skipped line ("file:line: reason").
    public let warnings: [String]

    public var kind: DatasetKind? { examples.first?.record.kind }
    public var count: Int { examples.count }

    public init(path: String, examples: [DatasetExample], warnings: [String] = []) {
        self.path = path
        self.examples = examples
        self.warnings = warnings
    }

    /// Loads a JSONL file: one JSON object per line, blank lines ignored, one layout per file.
    public static func load(path: String, onMalformed policy: MalformedLinePolicy = .stop) throws -> Dataset {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DatasetError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(data, path: path, onMalformed: policy)
    }

    public static func parse(_ data: Data, path: String, onMalformed policy: MalformedLinePolicy = .stop) throws -> Dataset {
        var examples: [DatasetExample] = []
        var warnings: [String] = []
        var lineNumber = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            do {
                let record = try DatasetRecordParser.parse(Data(line))
                if let first = examples.first?.record.kind, first != record.kind {
                    throw DatasetError.mixedKinds(path: path, line: lineNumber, expected: first, found: record.kind)
                }
                examples.append(DatasetExample(record: record, line: lineNumber))
            } catch let error as DatasetError {
                guard policy == .skip else { throw error }
                warnings.append(error.description)
            } catch let reason as DatasetRecordParser.Failure {
                let error = DatasetError.malformedLine(path: path, line: lineNumber, reason: reason.message)
                guard policy == .skip else { throw error }
                warnings.append("\(path):\(lineNumber): \(reason.message)")
            }
        }
        guard !examples.isEmpty else { throw DatasetError.empty(path: path) }
        return Dataset(path: path, examples: examples, warnings: warnings)
    }

    /// Fails unless every record has one of `kinds`.
    public func requireKind(_ kinds: [DatasetKind]) throws {
        if let kind, !kinds.contains(kind) { throw DatasetError.wrongKind(path: path, expected: kinds, found: kind) }
    }

    /// A seeded shuffle split into training and validation parts (`validationFraction` of the
    /// records, at least one when there are two or more records and the fraction is positive).
    public func split(validationFraction: Double, seed: UInt64) -> (train: [DatasetExample], validation: [DatasetExample]) {
        var order = examples
        var generator = SeededGenerator(seed: seed)
        generator.shuffle(&order)
        guard validationFraction > 0, order.count >= 2 else { return (order, []) }
        let n = min(order.count - 1, max(1, Int((Double(order.count) * validationFraction).rounded())))
        return (Array(order.dropFirst(n)), Array(order.prefix(n)))
    }
}

/// Decodes one JSON object into a `DatasetRecord`, recognising the layout by its keys.
enum DatasetRecordParser {
    struct Failure: Error {
        let message: String
    }

    static func parse(_ line: Data) throws -> DatasetRecord {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: line, options: [])
        } catch {
            throw Failure(message: "not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw Failure(message: "expected a JSON object") }

        func string(_ key: String, optional: Bool = false) throws -> String? {
            guard let value = dict[key] else {
                if optional { return nil }
                throw Failure(message: "missing \"\(key)\"")
            }
            if value is NSNull, optional { return nil }
            guard let s = value as? String else { throw Failure(message: "\"\(key)\" must be a string") }
            return s
        }

        if dict["chosen"] != nil || dict["rejected"] != nil {
            let prompt = try string("prompt") ?? ""
            return .preference(prompt: prompt, chosen: try string("chosen") ?? "", rejected: try string("rejected") ?? "")
        }
        if let messages = dict["messages"] {
            guard let list = messages as? [Any], !list.isEmpty else {
                throw Failure(message: "\"messages\" must be a non-empty array")
            }
            var turns: [ChatMessage] = []
            for (i, item) in list.enumerated() {
                guard let m = item as? [String: Any], let role = m["role"] as? String, let content = m["content"] as? String else {
                    throw Failure(message: "messages[\(i)] needs string \"role\" and \"content\"")
                }
                guard let parsed = ChatMessage.Role(rawValue: role == "model" ? "assistant" : role) else {
                    throw Failure(message: "messages[\(i)] has unknown role \"\(role)\" (system, user, assistant)")
                }
                turns.append(ChatMessage(role: parsed, content: content))
            }
            return .conversation(turns)
        }
        if dict["instruction"] != nil {
            return .instruction(instruction: try string("instruction") ?? "", input: try string("input", optional: true) ?? "",
                                output: try string("output") ?? "")
        }
        if dict["completion"] != nil || dict["prompt"] != nil {
            return .promptCompletion(prompt: try string("prompt") ?? "", completion: try string("completion") ?? "")
        }
        if dict["text"] != nil { return .text(try string("text") ?? "") }
        throw Failure(message: "unknown layout (expected text, prompt/completion, messages, instruction/output or prompt/chosen/rejected)")
    }
}
