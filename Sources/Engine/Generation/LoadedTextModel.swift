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

    /// Opens a GGUF file or a Hugging Face folder (config.json + safetensors + tokenizer.json) of
    /// any architecture `TransformerDecoder` supports, with the model's own tokenizer (SentencePiece
    /// or byte-level BPE from the GGUF; `tokenizer.json` in a folder). `contextLength` caps the cache
    /// (default: the model's full context; the cache grows as it fills). `adapter` is a PEFT LoRA
    /// folder merged into the weights at load.
    public static func open(_ url: URL, contextLength: Int? = nil, adapter: URL? = nil) throws -> LoadedTextModel {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try openFolder(url, contextLength: contextLength, adapter: adapter)
        }
        let file = try GGUFFile(path: url.path)
        let architecture = file.metadata.architecture ?? "unknown"
        guard TransformerDecoder.supportedArchitectures.contains(architecture) else {
            throw GenerationError.modelFailed("\(url.lastPathComponent) is a '\(architecture)' model; text generation supports \(TransformerDecoder.supportedArchitectures.joined(separator: ", ")) GGUF files")
        }
        var model = try TransformerDecoder(file: file)
        if let adapter { model = try model.merging(PEFTAdapter.load(from: adapter)) }
        let tokenizer = try file.tokenizer()
        let metadataTokens = ChatTemplate.SpecialTokens(gguf: file.metadata)
        let specialTokens = ChatTemplate.SpecialTokens(bos: metadataTokens.bos, eos: metadataTokens.eos,
                                                       tokenizerAddsBOS: tokenizer.addBOSByDefault)
        return make(url: url, architecture: architecture, template: file.metadata.string("tokenizer.chat_template"),
                    model: model, tokenizer: tokenizer, specialTokens: specialTokens, contextLength: contextLength)
    }

    private static func openFolder(_ url: URL, contextLength: Int?, adapter: URL?) throws -> LoadedTextModel {
        var model = try TransformerDecoder(folder: url)
        if let adapter { model = try model.merging(PEFTAdapter.load(from: adapter)) }
        let tokenizer = try HFFolderTokenizer(folder: url)
        var specialTokens = tokenizer.tokenizerConfig.map { ChatTemplate.SpecialTokens(tokenizerConfig: $0) } ?? ChatTemplate.SpecialTokens()
        specialTokens.tokenizerAddsBOS = tokenizer.addBOSByDefault
        let template = tokenizer.tokenizerConfig.flatMap { ChatTemplate.embeddedTemplate(tokenizerConfig: $0) }
        return make(url: url, architecture: model.configuration.architecture, template: template, model: model,
                    tokenizer: tokenizer, specialTokens: specialTokens, contextLength: contextLength)
    }

    private static func make(url: URL, architecture: String, template: String?, model: TransformerDecoder, tokenizer: any GGUFTokenizer,
                             specialTokens: ChatTemplate.SpecialTokens, contextLength: Int?) -> LoadedTextModel {
        let session = model.makeSession(contextLength: contextLength)
        let generator = TextGenerator(model: session, tokenizer: tokenizer, label: "whetstone.generation.\(url.lastPathComponent)")
        return LoadedTextModel(url: url, architecture: architecture, embeddedChatTemplate: template, generator: generator,
                               tokenizer: tokenizer, specialTokens: specialTokens, weights: model)
    }

    /// The shared weights (bench, perplexity and tests open their own sessions on them).
    public var decoder: TransformerDecoder { weights }

    /// The model's tokenizer (GGUF or `tokenizer.json`).
    public var textTokenizer: any GGUFTokenizer { tokenizer }

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
