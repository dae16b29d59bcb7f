import Foundation

/// Errors raised while building or running a model from a file or from user input.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case wrongArchitecture(path: String, found: String?, expected: String)
    case unsupportedArchitecture(path: String, found: String?, supported: [String])
    case invalidHyperparameter(path: String, key: String, reason: String)
    case tensorShape(path: String, name: String, expected: [Int], found: [Int])
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    case contextFull(needed: Int, limit: Int)
    case positionMismatch(expected: Int, given: Int)
    case emptyInput
    /// The model's output holds NaN or infinity: its weights or configuration are broken.
    case nonFiniteOutput(what: String)

    public var description: String {
        switch self {
        case let .wrongArchitecture(path, found, expected):
            return "\(path) is a '\(found ?? "unknown")' model, not '\(expected)'; pass a \(expected) GGUF file"
        case let .unsupportedArchitecture(path, found, supported):
            return "\(path): architecture '\(found ?? "unknown")' is not supported; supported: \(supported.joined(separator: ", "))"
        case let .invalidHyperparameter(path, key, reason):
            return "\(path): '\(key)' is invalid: \(reason); the file is not a usable model"
        case let .tensorShape(path, name, expected, found):
            return "\(path): tensor '\(name)' has dimensions \(found), expected \(expected); the file does not match its metadata"
        case let .tokenOutOfRange(token, vocab):
            return "token id \(token) is outside the vocabulary (0..<\(vocab)); use ids from this model's tokenizer"
        case let .contextFull(needed, limit):
            return "\(needed) positions do not fit the context of \(limit); shorten the prompt or start a new session"
        case let .positionMismatch(expected, given):
            return "the cache holds \(expected) positions but the tokens were given for position \(given); truncate the cache first"
        case .emptyInput:
            return "no tokens to evaluate; pass at least one token"
        case let .nonFiniteOutput(what):
            return "the model produced NaN or infinite values in its \(what); its weights or config.json are broken (check them with whet models show)"
        }
    }
}
