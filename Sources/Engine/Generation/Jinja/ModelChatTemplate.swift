import Foundation

/// A model's own chat template (`tokenizer.chat_template` in GGUF, `chat_template` in
/// `tokenizer_config.json`), parsed once and rendered as Hugging Face's `apply_chat_template`
/// renders it: the variables `messages`, `tools` (`none` when not given), `documents` (`none`),
/// `add_generation_prompt`, `bos_token` / `eos_token` (when the model has them) and any extras.
public struct ModelChatTemplate: Sendable, Equatable {
    public let source: String
    /// Text of the model's beginning- / end-of-sequence tokens, as the template sees them.
    public let bosToken: String?
    public let eosToken: String?
    let template: JinjaTemplate

    /// Throws `JinjaError` when the template is not valid Jinja or uses a construct outside the subset.
    public init(source: String, bosToken: String?, eosToken: String?) throws {
        self.source = source
        self.bosToken = bosToken
        self.eosToken = eosToken
        template = try JinjaTemplate(source)
    }

    public static func == (a: ModelChatTemplate, b: ModelChatTemplate) -> Bool {
        a.source == b.source && a.bosToken == b.bosToken && a.eosToken == b.eosToken
    }

    /// The exact text jinja2 would produce (beginning-of-sequence token included when the
    /// template writes it). `messages` and `tools` are JSON-shaped values: messages are objects
    /// with `role`, `content` and optionally `tool_calls`, `tool_call_id`, `name`,
    /// `reasoning_content`; tools are OpenAI-style function descriptions.
    public func render(messages: [JinjaValue], tools: [JinjaValue]? = nil, addGenerationPrompt: Bool,
                       extra: [String: JinjaValue] = [:], now: Date = Date()) throws -> String {
        var context: [String: JinjaValue] = [
            "messages": .array(messages),
            "tools": tools.map { .array($0) } ?? JinjaValue.none,
            "documents": JinjaValue.none,
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (k, v) in extra { context[k] = v }
        return try template.render(context, now: now)
    }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, now: Date = Date()) throws -> String {
        try render(messages: messages.map(Self.value), addGenerationPrompt: addGenerationPrompt, now: now)
    }

    static func value(_ message: ChatMessage) -> JinjaValue {
        .object(JinjaObject([("role", .string(message.role.rawValue)), ("content", .string(message.content))]))
    }

    /// Text that closes a model turn in this template, for stop sequences: the marker of a known
    /// format, else Phi-3's `<|end|>`, else the end-of-sequence token when the template writes it.
    public var endOfTurnText: String? {
        if let kind = ChatTemplate.recognise(source), let marker = ChatTemplate(kind).endOfTurnText { return marker }
        if source.contains("<|end|>") { return "<|end|>" }
        if source.contains("eos_token") { return eosToken }
        return nil
    }
}
