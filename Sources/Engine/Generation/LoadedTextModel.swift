import Foundation

/// A generative model opened from a file, ready for `TextGenerator` runs: the command line, the
/// workbench and the server open models through here.
public final class LoadedTextModel: Sendable {
    public let url: URL
    /// `general.architecture` of the file.
    public let architecture: String
    /// The Jinja chat template the file carries (`tokenizer.chat_template`), if any.
    public let embeddedChatTemplate: String?
    public let generator: TextGenerator
    /// Most positions each generator's cache holds.
    public let contextLength: Int
    private let sentencePiece: SentencePieceTokenizer
    private let weights: Gemma3Model

    private init(url: URL, architecture: String, embeddedChatTemplate: String?, generator: TextGenerator,
                 tokenizer: SentencePieceTokenizer, weights: Gemma3Model) {
        self.url = url
        self.architecture = architecture
        self.embeddedChatTemplate = embeddedChatTemplate
        self.generator = generator
        contextLength = generator.contextLength
        sentencePiece = tokenizer
        self.weights = weights
    }

    /// Opens a GGUF file. `contextLength` caps the cache (default: the model's full context; the
    /// cache grows as it fills). `adapter` is a PEFT LoRA folder merged into the weights at load.
    public static func open(_ url: URL, contextLength: Int? = nil, adapter: URL? = nil) throws -> LoadedTextModel {
        let model = try Gemma3Model.open(url, adapter: adapter, purpose: "text generation")
        let file = model.file
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let session = model.makeSession(contextLength: contextLength)
        let generator = TextGenerator(model: session, tokenizer: tokenizer, label: "whetstone.generation.\(url.lastPathComponent)")
        return LoadedTextModel(url: url, architecture: file.metadata.architecture ?? "gemma3", embeddedChatTemplate: file.metadata.string("tokenizer.chat_template"),
                               generator: generator, tokenizer: tokenizer, weights: model)
    }

    /// Another generator over the same (shared, read-only) weights with its own cache and queue,
    /// for running several conversations at once (the server's sessions). Costs the scratch
    /// buffers and the cache it grows, not a second copy of the model.
    public func makeGenerator(label: String) -> TextGenerator {
        TextGenerator(model: weights.makeSession(contextLength: contextLength), tokenizer: sentencePiece, label: label)
    }

    /// `name` is `auto` or a `ChatTemplate.Kind`.
    public func chatTemplate(named name: String) throws -> ChatTemplate {
        try ChatTemplate.resolve(name, architecture: architecture, embeddedTemplate: embeddedChatTemplate)
    }

    /// Whether prompts start with the beginning-of-sequence token (`tokenizer.ggml.add_bos_token`).
    public var addsBeginningOfSequence: Bool { sentencePiece.addBOSByDefault }

    /// Token ids of a prompt, beginning-of-sequence token first (when the model wants one).
    public func encode(_ text: String, parseSpecialTokens: Bool = true) throws -> [Int32] {
        sentencePiece.encode(text, addBOS: sentencePiece.addBOSByDefault, parseSpecial: parseSpecialTokens)
    }
}
