/// What can go wrong when parsing or rendering a Jinja chat template. Every case names its line
/// in the template; `unsupported` names the construct outside Whetstone's Jinja subset.
public enum JinjaError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The template is not valid Jinja (jinja2 would refuse it too).
    case syntax(message: String, line: Int)
    /// Valid Jinja that this renderer does not implement; the template cannot be used as it is.
    case unsupported(construct: String, line: Int)
    /// A lookup on an undefined value, as jinja2's `UndefinedError`.
    case undefined(message: String, line: Int)
    /// An operation on values of the wrong type, as Python's `TypeError` / `ValueError`.
    case type(message: String, line: Int)
    /// The template called `raise_exception(message)`: it refuses this conversation.
    case raised(message: String, line: Int)
    /// Malformed JSON given as input (messages, tools).
    case json(String)

    public var description: String {
        switch self {
        case let .syntax(message, line):
            return "chat template line \(line): syntax error: \(message)"
        case let .unsupported(construct, line):
            return "chat template line \(line): \(construct) is not supported by Whetstone's Jinja subset; choose a built-in template with --template (gemma, chatml, llama3, none)"
        case let .undefined(message, line):
            return "chat template line \(line): \(message)"
        case let .type(message, line):
            return "chat template line \(line): \(message)"
        case let .raised(message, line):
            return "the chat template refuses this conversation (line \(line)): \(message)"
        case let .json(message):
            return "invalid JSON for the chat template: \(message)"
        }
    }
}
