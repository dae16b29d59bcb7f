import Foundation

/// A Jinja template parsed once and rendered as Python `jinja2` renders it with Hugging Face's
/// chat-template settings (`ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
/// extensions=[loopcontrols])`, HF's `tojson`, `raise_exception` and `strftime_now`).
///
/// The subset covers what the chat templates of Llama 3.x, Qwen2.5/3, Mistral, Phi-3, SmolLM2 and
/// Gemma 3 use (see docs/chat-templates.md). Anything outside it is a `JinjaError.unsupported`
/// naming the construct and its line — when parsed where possible, else when rendered — never a
/// different text.
public struct JinjaTemplate: Sendable {
    public let source: String
    let nodes: [Node]

    public init(_ source: String) throws {
        self.source = source
        var lexer = JinjaLexer(source)
        var parser = JinjaParser(pieces: try lexer.tokenize())
        nodes = try parser.parse()
    }

    /// Renders with `context` as the template's variables. `now` is what `strftime_now` formats
    /// (in UTC).
    public func render(_ context: [String: JinjaValue], now: Date = Date()) throws -> String {
        try JinjaRenderer(context: context, now: now).render(nodes)
    }
}
