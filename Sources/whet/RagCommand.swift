import ArgumentParser
import Engine
import Foundation
import Retrieval

/// `whet rag index DIR` / `whet rag ask QUESTION` / `whet rag eval`: retrieval over a folder of
/// text and Markdown documents with sentence embeddings.
struct RagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rag",
        abstract: "Index documents, retrieve passages for a question and build a prompt that cites them.",
        subcommands: [Index.self, Ask.self, Eval.self]
    )

    struct IndexOptions: ParsableArguments {
        @Option(name: .long, help: "Index folder (default: ./.whet-rag).")
        var index: String = Retriever.defaultIndexFolderName

        var folder: URL { URL(fileURLWithPath: (index as NSString).expandingTildeInPath, isDirectory: true) }
    }

    struct Index: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Chunk and embed every .txt / .md file under DIR.")

        @Argument(help: "Folder of documents.") var directory: String
        @Option(name: .long, help: "Embedding model folder or name.") var model: String = ModelLocator.defaultEmbeddingModelName
        @Option(name: .long, help: "Words per chunk.") var chunkWords: Int = 120
        @Option(name: .long, help: "Words shared by consecutive chunks of a section.") var overlap: Int = 30
        @OptionGroup var indexOptions: IndexOptions
        @OptionGroup var output: OutputOptions

        struct Result: Encodable {
            let index: String
            let documents: Int
            let chunks: Int
            let model: String
            let dimensions: Int
        }

        func run() throws {
            try reportingErrors {
                let documents = try DocumentLoader.load(folder: URL(fileURLWithPath: (directory as NSString).expandingTildeInPath))
                let chunker = try Chunker(maxWords: chunkWords, overlapWords: overlap)
                let embedder = try SentenceTextEmbedder(named: model)
                let built = try EmbeddingIndex.build(documents: documents, chunker: chunker, embedder: embedder) { done, total in
                    CommandOutput.progress("embedded \(done)/\(total) chunks")
                }
                try built.save(to: indexOptions.folder)
                let result = Result(index: indexOptions.folder.path, documents: documents.count, chunks: built.chunks.count,
                                    model: built.model, dimensions: built.dimensions)
                if output.json {
                    try CommandOutput.printJSON(result)
                } else {
                    print("indexed \(result.documents) documents as \(result.chunks) chunks (\(result.model), \(result.dimensions) dims) in \(result.index)")
                }
            }
        }
    }

    struct Ask: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retrieve the passages closest to QUESTION and answer it with the generation model, citing them.",
            discussion: """
            The question is embedded with the index's embedding model, the top -k passages are put in \
            a prompt that asks for an answer citing them as [1], [2], …, and the generation model \
            (default: Gemma 3 270M, in its chat template) answers it; the answer streams to stdout. \
            --retrieve-only prints the passages and the prompt without generating.
            """)

        @Argument(help: "The question.") var question: String
        @Option(name: .short, help: "Passages to retrieve.") var k: Int = 3
        @Option(name: .long, help: "Embedding model (must be the one the index was built with).")
        var model: String = ModelLocator.defaultEmbeddingModelName
        @Option(name: .customLong("generation-model"), help: "Model that writes the answer (GGUF path or installed name).")
        var generationModel: String = ModelLocator.defaultModelName
        @Flag(name: .customLong("retrieve-only"), help: "Only retrieve: print the passages and the prompt.")
        var retrieveOnly = false
        @Option(name: .customLong("max-tokens"), help: "Most tokens in the answer.")
        var maxTokens: Int = 256
        @Option(help: "Sampling temperature of the answer; 0 is greedy.")
        var temperature: Float = 0
        @Option(help: "Seed of the answer's sampler.")
        var seed: UInt64?
        @OptionGroup var indexOptions: IndexOptions
        @OptionGroup var output: OutputOptions

        struct Hit: Encodable {
            let rank: Int
            let score: Float
            let citation: String
            let source: String
            let section: String
            let text: String
        }

        struct Result: Encodable {
            let question: String
            let hits: [Hit]
            let prompt: String
            let answer: String?
            let generated_tokens: Int?
            let stop_reason: String?
        }

        func run() throws {
            try reportingErrors {
                guard k > 0 else { throw CommandFailure("-k must be at least 1") }
                guard maxTokens >= 0 else { throw CommandFailure("--max-tokens must be 0 or more") }
                let retrieved = try Retriever(indexFolder: indexOptions.folder, embeddingModel: model).retrieve(question, k: k)
                let (hits, prompt) = (retrieved.hits, retrieved.prompt)
                if !output.json {
                    for hit in hits { print(String(format: "[%d] %.3f  ", hit.rank, hit.score) + hit.chunk.citation) }
                    if retrieveOnly { print("\n" + prompt) }
                }
                var summary: GenerationSummary?
                if !retrieveOnly {
                    let loaded = try LoadedTextModel.open(try ModelLocator.locate(generationModel))
                    let chat = try loaded.chatTemplate(named: "auto")
                    var sampler = SamplerSettings()
                    sampler.temperature = temperature
                    if let seed { sampler.seed = seed }
                    let job = try loaded.prepare(.messages([.user(prompt)]), template: chat, sampler: sampler, maxTokens: maxTokens).job
                    let streaming = !output.json
                    if streaming { print("") }
                    summary = try loaded.generator.generate(job) { event in
                        guard streaming else { return .proceed }
                        switch event {
                        case let .token(token): FileHandle.standardOutput.write(Data(token.text.utf8))
                        case let .text(piece): FileHandle.standardOutput.write(Data(piece.utf8))
                        default: break
                        }
                        return .proceed
                    }
                    if streaming { print("") }
                }
                if output.json {
                    try CommandOutput.printJSON(Result(question: question, hits: hits.map {
                        Hit(rank: $0.rank, score: $0.score, citation: $0.chunk.citation, source: $0.chunk.source,
                            section: $0.chunk.section, text: $0.chunk.text)
                    }, prompt: prompt, answer: summary?.text.trimmingCharacters(in: .whitespacesAndNewlines),
                       generated_tokens: summary?.generatedTokens, stop_reason: summary?.stopReason.rawValue))
                }
            }
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "hit@1 / hit@3 of the index on questions that name their answering section (JSONL).")

        @Option(name: .long, help: "Questions file: {\"question\", \"source\", \"section\"} per line.")
        var questions: String = "data/rag/questions.jsonl"
        @Option(name: .long, help: "Embedding model (must be the one the index was built with).")
        var model: String = ModelLocator.defaultEmbeddingModelName
        @OptionGroup var indexOptions: IndexOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try reportingErrors {
                let retriever = try Retriever(indexFolder: indexOptions.folder, embeddingModel: model)
                let list = try RetrievalQuestion.load(jsonl: URL(fileURLWithPath: questions))
                let report = try RetrievalReport.evaluate(index: retriever.index, embedder: retriever.embedder, questions: list)
                if output.json {
                    try CommandOutput.printJSON(report)
                } else {
                    for row in report.rows {
                        print("\(row.rank.map { "#\($0)" } ?? "miss")  \(row.question)  → \(row.top)")
                    }
                    print(String(format: "hit@1 %.3f  hit@3 %.3f  (n = %d)", report.hit_at_1, report.hit_at_3, report.n))
                }
            }
        }
    }
}
