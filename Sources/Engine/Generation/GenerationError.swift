/// What can go wrong when preparing or running a generation. Each description says what is
/// wrong and what to do.
public enum GenerationError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidSetting(name: String, value: String, rule: String)
    case missingVariable(name: String)
    case emptyPrompt
    case promptTooLong(tokens: Int, contextLength: Int)
    case unknownChatTemplate(String)
    case noChatTemplate(architecture: String)
    case invalidConversation(String)
    case promptFileUnreadable(path: String, reason: String)
    case promptFileInvalid(path: String, reason: String)
    case promptFileUnwritable(path: String, reason: String)
    case nonFiniteLogits(position: Int)
    case modelFailed(String)

    public var description: String {
        switch self {
        case let .invalidSetting(name, value, rule):
            return "\(name) is \(value) but must be \(rule)"
        case let .missingVariable(name):
            return "the prompt uses {{\(name)}} but no value was given for it; pass --var \(name)=VALUE or add \"\(name)\" to the prompt file's variables"
        case .emptyPrompt:
            return "the prompt is empty and there is no beginning-of-sequence token to start from; give some prompt text"
        case let .promptTooLong(tokens, contextLength):
            return "the prompt has \(tokens) tokens but the model's context holds \(contextLength); shorten the prompt or the chat history"
        case let .unknownChatTemplate(name):
            return "unknown chat template '\(name)'; use one of \(ChatTemplate.Kind.allCases.map(\.rawValue).joined(separator: ", ")) or 'auto'"
        case let .noChatTemplate(architecture):
            return "no chat template is known for architecture '\(architecture)' and the model file carries none; choose one with --template (\(ChatTemplate.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .invalidConversation(reason):
            return "the conversation cannot be rendered: \(reason)"
        case let .promptFileUnreadable(path, reason):
            return "cannot read prompt file \(path): \(reason)"
        case let .promptFileInvalid(path, reason):
            return "prompt file \(path) is not valid: \(reason); see docs/generation.md for the format"
        case let .promptFileUnwritable(path, reason):
            return "cannot write prompt file \(path): \(reason); check that the folder exists and is writable"
        case let .nonFiniteLogits(position):
            return "the model produced non-finite logits at position \(position); the model file may be damaged — re-install it"
        case let .modelFailed(message):
            return message
        }
    }
}
