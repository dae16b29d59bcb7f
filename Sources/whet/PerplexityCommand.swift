import ArgumentParser
import Engine
import Foundation

/// `whet perplexity`: llama-perplexity's chunked perplexity of a text file.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text file, by llama-perplexity's method.",
        discussion: """
        The file is tokenized with BOS and cut into chunks of --context tokens (a last partial chunk \
        is dropped); each chunk starts with BOS and an empty cache, and only its second half is scored.
        """
    )

    @Option(name: .long, help: "Model file, folder or installed name.")
    var model: String = ModelLocator.defaultModelName
    @Option(name: .long, help: "Text file to score.")
    var file: String
    @Option(name: .long, help: "Chunk length in tokens.")
    var context: Int = 256
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        let perplexity: Double
        let tokens_scored: Int
        let chunks: Int
        let context: Int
    }

    func run() throws {
        try reportingErrors {
            let path = (file as NSString).expandingTildeInPath
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandFailure("cannot read \(path); pass a readable text file with --file")
            }
            let text = String(decoding: data, as: UTF8.self)
            let url = try ModelLocator.locate(model)
            let model = try LoadedTextModel.open(url, contextLength: context)
            let tokenizer = model.textTokenizer
            let tokens = tokenizer.encode(text, addBOS: true, parseSpecial: false)
            let bos = tokenizer.bosID
            let session = model.decoder.makeSession(contextLength: context, maximumBatchSize: context)
            let result = try ChunkedPerplexity.evaluate(tokens: tokens, context: context, beginningOfSequence: bos,
                                                        session: session) { chunk, chunks, running in
                CommandOutput.progress(String(format: "chunk %d/%d: running perplexity %.4f", chunk, chunks, running))
            }
            let report = Report(perplexity: result.perplexity, tokens_scored: result.tokensScored, chunks: result.chunks,
                                context: context)
            if output.json {
                try CommandOutput.printJSON(report)
            } else {
                print(String(format: "perplexity %.4f over %d tokens (%d chunks of %d)", result.perplexity,
                             result.tokensScored, result.chunks, context))
            }
        }
    }
}
