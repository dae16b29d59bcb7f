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
    /// The special tokens the model's Jinja template sees (`bos_token`, `eos_token`).
    public let specialTokens: ChatTemplate.SpecialTokens
    private let tokenizer: any GGUFTokenizer
    private let weights: TransformerDecoder

    private init(url: URL, architecture: String, embeddedChatTemplate: String?, generator: TextGenerator,
                 tokenizer: any GGUFTokenizer, specialTokens: ChatTemplate.SpecialTokens, weights: TransformerDecoder) {
        self.url = url
        self.architecture = architecture
        self.embeddedChatTemplate = embeddedChatTemplate
        self.generator = generator
        contextLength = generator.contextLength
        self.tokenizer = tokenizer
        self.specialTokens = specialTokens
        self.weights = weights
    }

    /// Opens a GGUF file of any architecture `TransformerDecoder` supports, with the tokenizer the file
    /// carries (SentencePiece or byte-level BPE). `contextLength` caps the cache (default: the
    /// model's full context; the cache grows as it fills). `adapter` is a PEFT LoRA folder merged
    /// into the weights at load (gemma3 so far).
    public static func open(_ url: URL, contextLength: Int? = nil, adapter: URL? = nil) throws -> LoadedTextModel {
        let file = try GGUFFile(path: url.path)
        let architecture = file.metadata.architecture ?? "unknown"
        let model: TransformerDecoder
        if architecture == "gemma3" {
            model = try Gemma3Model.open(url, adapter: adapter, purpose: "text generation").decoder
        } else {
            guard TransformerDecoder.supportedArchitectures.contains(architecture) else {
                throw GenerationError.modelFailed("\(url.lastPathComponent) is a '\(architecture)' model; text generation supports \(TransformerDecoder.supportedArchitectures.joined(separator: ", ")) GGUF files")
            }
            if adapter != nil {
                throw GenerationError.modelFailed("LoRA adapters at load are supported for gemma3 so far; \(url.lastPathComponent) is '\(architecture)': merge the adapter into the model first or run without --adapter")
            }
            model = try TransformerDecoder(file: file)
        }
        let tokenizer = try file.tokenizer()
        let metadataTokens = ChatTemplate.SpecialTokens(gguf: file.metadata)
        let specialTokens = ChatTemplate.SpecialTokens(bos: metadataTokens.bos, eos: metadataTokens.eos,
                                                       tokenizerAddsBOS: tokenizer.addBOSByDefault)
        let session = model.makeSession(contextLength: contextLength)
        let generator = TextGenerator(model: session, tokenizer: tokenizer, label: "whetstone.generation.\(url.lastPathComponent)")
        return LoadedTextModel(url: url, architecture: architecture, embeddedChatTemplate: file.metadata.string("tokenizer.chat_template"),
                               generator: generator, tokenizer: tokenizer, specialTokens: specialTokens, weights: model)
    }

    /// Another generator over the same (shared, read-only) weights with its own cache and queue,
    /// for running several conversations at once (the server's sessions). Costs the scratch
    /// buffers and the cache it grows, not a second copy of the model.
    public func makeGenerator(label: String) -> TextGenerator {
        TextGenerator(model: weights.makeSession(contextLength: contextLength), tokenizer: tokenizer, label: label)
    }

    /// `name` is `auto` or a `ChatTemplate.Kind`.
    public func chatTemplate(named name: String) throws -> ChatTemplate {
        try ChatTemplate.resolve(name, architecture: architecture, embeddedTemplate: embeddedChatTemplate,
                                 specialTokens: specialTokens)
    }

    /// Whether prompts start with the beginning-of-sequence token (`tokenizer.ggml.add_bos_token`).
    public var addsBeginningOfSequence: Bool { tokenizer.addBOSByDefault }

    /// Token ids of a prompt, beginning-of-sequence token first (when the model wants one).
    public func encode(_ text: String, parseSpecialTokens: Bool = true) throws -> [Int32] {
        tokenizer.encode(text, addBOS: tokenizer.addBOSByDefault, parseSpecial: parseSpecialTokens)
    }
}
