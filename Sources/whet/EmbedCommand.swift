import ArgumentParser
import Engine
import Foundation

/// `whet embed --model DIR TEXT...`: sentence embeddings from a BERT model folder
/// (sentence-transformers pooling and normalisation).
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentence embeddings of each TEXT from a BERT model folder (default all-MiniLM-L6-v2)."
    )

    @Option(name: .long, help: "Model folder (config.json, model.safetensors, tokenizer.json) or installed model name.")
    var model: String = ModelLocator.defaultEmbeddingModelName

    @Argument(help: "Texts to embed, one vector each.")
    var texts: [String] = []

    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let model: String
        let dimensions: Int
        let token_counts: [Int]
        let embeddings: [[Float]]
    }

    func run() throws {
        try reportingErrors {
            guard !texts.isEmpty else { throw CommandFailure("no text given; pass one or more TEXT arguments") }
            let url = try ModelLocator.locate(model)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw CommandFailure("\(url.path) is not a model folder; embeddings need a BERT folder with config.json, model.safetensors and tokenizer.json")
            }
            let embedder = try SentenceEmbedder(folder: url)
            let counts = texts.map { embedder.tokenIDs($0).count }
            let vectors = try embedder.embed(texts)
            if output.json {
                try CommandOutput.printJSON(Result(model: url.lastPathComponent, dimensions: embedder.dimensions,
                                                   token_counts: counts, embeddings: vectors))
            } else {
                for (i, v) in vectors.enumerated() {
                    let head = v.prefix(6).map { String(format: "%.4f", $0) }.joined(separator: " ")
                    print("[\(i)] \(counts[i]) tokens, \(v.count) dims: \(head) …")
                }
                if vectors.count > 1 {
                    print("cosine similarities:")
                    for i in 0..<vectors.count {
                        let row = (0..<vectors.count).map { String(format: "%6.3f", SentenceEmbedder.cosine(vectors[i], vectors[$0])) }
                        print("  [\(i)] " + row.joined(separator: " "))
                    }
                }
            }
        }
    }
}
