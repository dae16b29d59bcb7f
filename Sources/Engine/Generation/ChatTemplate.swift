public struct ChatMessage: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable {
        case system, user, assistant
    }
    public var role: Role
    public var content: String
    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: text) }
}

/// Turns a conversation into the text a chat-tuned model was trained on.
///
/// GGUF files may carry a Jinja template (`tokenizer.chat_template`). With the model's special
/// tokens, `resolve(_:architecture:embeddedTemplate:specialTokens:)` renders that template itself
/// (`Kind.jinja`, through `ModelChatTemplate`, a Jinja subset equal to Python jinja2 on the real
/// templates; see docs/chat-templates.md); the three-argument `resolve` keeps recognising which of
/// the built-in formats a template writes. Files without a template (the default Gemma 3 270M has
/// none) fall back on the architecture name. The beginning-of-sequence token is not part of the
/// text: the tokenizer adds it (a model template's leading `bos_token` is dropped).
public struct ChatTemplate: Sendable, Equatable {
    public enum Kind: String, CaseIterable, Codable, Sendable {
        /// `<start_of_turn>user\n…<end_of_turn>\n<start_of_turn>model\n`; no system role (its text
        /// goes before the first user message, as Gemma's official template does).
        case gemma
        /// `<|im_start|>role\n…<|im_end|>\n` (Qwen and many fine-tunes).
        case chatml
        /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (Llama 3).
        case llama3
        /// No markup: messages separated by blank lines (for base models and plain completion).
        case none
        /// The model's own Jinja chat template, rendered by `ModelChatTemplate`.
        case jinja
    }

    /// The special tokens a model's own template sees, and whether the tokenizer adds the
    /// beginning-of-sequence token itself (then a leading `bos_token` in the text is dropped).
    public struct SpecialTokens: Sendable, Equatable {
        public var bos: String?
        public var eos: String?
        public var tokenizerAddsBOS: Bool
        public init(bos: String? = nil, eos: String? = nil, tokenizerAddsBOS: Bool = true) {
            self.bos = bos
            self.eos = eos
            self.tokenizerAddsBOS = tokenizerAddsBOS
        }
    }

    public var kind: Kind
    /// The model's template when `kind` is `.jinja`.
    public var model: ModelChatTemplate?
    /// Whether `render` drops a leading `bos_token` the model's template writes (the tokenizer adds it).
    public var dropsLeadingBOS: Bool

    public init(_ kind: Kind) {
        self.kind = kind
        model = nil
        dropsLeadingBOS = true
    }

    public init(model: ModelChatTemplate, dropsLeadingBOS: Bool = true) {
        kind = .jinja
        self.model = model
        self.dropsLeadingBOS = dropsLeadingBOS
    }

    /// `name` is a kind, `jinja` (the model's own template, required) or `auto`: the model's own
    /// template when the file carries one, else the built-in kind for its architecture. A template
    /// outside the Jinja subset throws `JinjaError` naming the construct, never a wrong prompt.
    public static func resolve(_ name: String, architecture: String?, embeddedTemplate: String?,
                               specialTokens: SpecialTokens) throws -> ChatTemplate {
        let lowered = name.lowercased()
        if lowered == "auto" || lowered == Kind.jinja.rawValue {
            if let source = embeddedTemplate, !source.allSatisfy(\.isWhitespace) {
                let model = try ModelChatTemplate(source: source, bosToken: specialTokens.bos, eosToken: specialTokens.eos)
                return ChatTemplate(model: model, dropsLeadingBOS: specialTokens.tokenizerAddsBOS)
            }
            if lowered == Kind.jinja.rawValue { throw GenerationError.noChatTemplate(architecture: architecture ?? "unknown") }
        }
        return try resolve(name, architecture: architecture, embeddedTemplate: nil)
    }

    /// `name` is a kind or `auto` (the built-in format the model's embedded template writes, else
    /// its architecture's). `jinja` renders the embedded template without special tokens (prefer
    /// the overload with `specialTokens`).
    public static func resolve(_ name: String, architecture: String?, embeddedTemplate: String?) throws -> ChatTemplate {
        let lowered = name.lowercased()
        if lowered == Kind.jinja.rawValue {
            return try resolve(name, architecture: architecture, embeddedTemplate: embeddedTemplate, specialTokens: SpecialTokens())
        }
        if lowered != "auto" {
            guard let kind = Kind(rawValue: lowered) else { throw GenerationError.unknownChatTemplate(name) }
            return ChatTemplate(kind)
        }
        if let embedded = embeddedTemplate, let kind = recognise(embedded) { return ChatTemplate(kind) }
        if let kind = architecture.flatMap(forArchitecture) { return ChatTemplate(kind) }
        throw GenerationError.noChatTemplate(architecture: architecture ?? "unknown")
    }

    /// The known format a Jinja chat template writes, judged by its turn markers.
    public static func recognise(_ jinja: String) -> Kind? {
        if jinja.contains("<start_of_turn>") { return .gemma }
        if jinja.contains("<|im_start|>") { return .chatml }
        if jinja.contains("<|start_header_id|>") { return .llama3 }
        return nil
    }

    public static func forArchitecture(_ architecture: String) -> Kind? {
        let a = architecture.lowercased()
        if a.hasPrefix("gemma") { return .gemma }
        if a.hasPrefix("qwen") { return .chatml }
        return nil
    }

    /// Text that marks the end of a model turn, as a stop sequence for models that spell it out
    /// instead of producing the end-of-turn token.
    public var endOfTurnText: String? {
        switch kind {
        case .gemma: return "<end_of_turn>"
        case .chatml: return "<|im_end|>"
        case .llama3: return "<|eot_id|>"
        case .none: return nil
        case .jinja: return model?.endOfTurnText
        }
    }

    /// Renders `messages`; with `addGenerationPrompt` the text ends with the opening of a model turn.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        switch kind {
        case .jinja:
            guard let model else { throw GenerationError.noChatTemplate(architecture: "unknown") }
            var text = try model.render(messages, addGenerationPrompt: addGenerationPrompt)
            if dropsLeadingBOS, let bos = model.bosToken, !bos.isEmpty, text.hasPrefix(bos) { text.removeFirst(bos.count) }
            return text
        case .gemma: return try renderGemma(messages, addGenerationPrompt: addGenerationPrompt)
        case .chatml:
            var out = ""
            for m in messages { out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
            return out
        case .llama3:
            var out = ""
            for m in messages {
                out += "<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n\(Self.trimmed(m.content))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
            return out
        case .none:
            var parts = messages.map(\.content)
            if addGenerationPrompt, messages.last?.role == .assistant { parts.append("") }
            return parts.joined(separator: "\n\n")
        }
    }

    /// Gemma's official template: an optional leading system message becomes a prefix (followed by
    /// a blank line) of the first user turn; roles then alternate user / model; contents are trimmed.
    private func renderGemma(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        var turns = messages[...]
        var firstUserPrefix = ""
        if let first = turns.first, first.role == .system {
            firstUserPrefix = Self.trimmed(first.content) + "\n\n"
            turns = turns.dropFirst()
        }
        if turns.isEmpty && !firstUserPrefix.isEmpty {
            throw GenerationError.invalidConversation("Gemma has no system turn; a system message needs a user message after it")
        }
        var out = ""
        for (i, message) in turns.enumerated() {
            let expectUser = i % 2 == 0
            guard (message.role == .user) == expectUser, message.role != .system else {
                throw GenerationError.invalidConversation(
                    "Gemma's template needs a system message only first, then turns alternating user / assistant starting with user; message \(i + 1) is \(message.role.rawValue)")
            }
            let role = message.role == .assistant ? "model" : "user"
            out += "<start_of_turn>\(role)\n"
            if i == 0 { out += firstUserPrefix }
            out += Self.trimmed(message.content) + "<end_of_turn>\n"
        }
        if addGenerationPrompt { out += "<start_of_turn>model\n" }
        return out
    }

    static func trimmed(_ s: String) -> String {
        s.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import Foundation

extension ChatTemplate.SpecialTokens {
    /// The texts of `tokenizer.ggml.bos_token_id` / `eos_token_id` in `tokenizer.ggml.tokens`, and
    /// `tokenizer.ggml.add_bos_token` (when absent: true for SentencePiece `llama` vocabularies,
    /// false otherwise, as llama.cpp defaults). Prefer the loaded tokenizer's own add-BOS setting
    /// when there is one.
    public init(gguf metadata: GGUFMetadata) {
        let tokens = metadata.array("tokenizer.ggml.tokens")?.stringValues ?? []
        func text(_ key: String) -> String? {
            guard let id = metadata.int(key), tokens.indices.contains(id) else { return nil }
            return tokens[id]
        }
        self.init(bos: text("tokenizer.ggml.bos_token_id"), eos: text("tokenizer.ggml.eos_token_id"),
                  tokenizerAddsBOS: metadata.bool("tokenizer.ggml.add_bos_token") ?? (metadata.string("tokenizer.ggml.model") == "llama"))
    }

    /// From a Hugging Face `tokenizer_config.json` (parsed with `JinjaValue.parseJSON`): `bos_token`
    /// and `eos_token` as strings or `{"content": …}` objects, and `add_bos_token` (default false).
    public init(tokenizerConfig config: JinjaValue) {
        func text(_ key: String) -> String? {
            guard case .object(let o) = config else { return nil }
            switch o[key] {
            case .string(let s)?: return s
            case .object(let t)?: if case .string(let s)? = t["content"] { return s }
            default: break
            }
            return nil
        }
        var adds = false
        if case .object(let o) = config, case .bool(let b)? = o["add_bos_token"] { adds = b }
        self.init(bos: text("bos_token"), eos: text("eos_token"), tokenizerAddsBOS: adds)
    }
}

extension ChatTemplate {
    /// `chat_template` of a Hugging Face `tokenizer_config.json`: a string, or a list of named
    /// templates of which the one named `default` is taken.
    public static func embeddedTemplate(tokenizerConfig config: JinjaValue) -> String? {
        guard case .object(let o) = config else { return nil }
        switch o["chat_template"] {
        case .string(let s)?: return s
        case .array(let list)?:
            for case .object(let entry) in list {
                if case .string("default")? = entry["name"], case .string(let s)? = entry["template"] { return s }
            }
            return nil
        default: return nil
        }
    }

    /// `name` for a GGUF model: `auto` renders `tokenizer.chat_template` with the file's special tokens.
    public static func resolve(_ name: String, gguf metadata: GGUFMetadata) throws -> ChatTemplate {
        try resolve(name, architecture: metadata.architecture, embeddedTemplate: metadata.string("tokenizer.chat_template"),
                    specialTokens: SpecialTokens(gguf: metadata))
    }
}
