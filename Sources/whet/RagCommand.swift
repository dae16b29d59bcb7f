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
        var index: String = ".whet-rag"

        var folder: URL { URL(fileURLWithPath: (index as NSString).expandingTildeInPath, isDirectory: true) }
    }

    static func embedder(_ model: String) throws -> SentenceTextEmbedder {
        let url = try ModelLocator.locate(model)
        return try SentenceTextEmbedder(folder: url)
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
                let embedder = try RagCommand.embedder(model)
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
            abstract: "Retrieve the passages closest to QUESTION and print them with the prompt that cites them.")

        @Argument(help: "The question.") var question: String
        @Option(name: .short, help: "Passages to retrieve.") var k: Int = 3
        @Option(name: .long, help: "Embedding model (must be the one the index was built with).")
        var model: String = ModelLocator.defaultEmbeddingModelName
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
        }

        func run() throws {
            try reportingErrors {
                guard k > 0 else { throw CommandFailure("-k must be at least 1") }
                let index = try EmbeddingIndex.load(from: indexOptions.folder)
                let hits = try index.search(question: question, embedder: RagCommand.embedder(model), k: k)
                let prompt = RAGPromptBuilder.prompt(question: question, hits: hits)
                if output.json {
                    try CommandOutput.printJSON(Result(question: question, hits: hits.map {
                        Hit(rank: $0.rank, score: $0.score, citation: $0.chunk.citation, source: $0.chunk.source,
                            section: $0.chunk.section, text: $0.chunk.text)
                    }, prompt: prompt))
                } else {
                    for hit in hits { print(String(format: "[%d] %.3f  ", hit.rank, hit.score) + hit.chunk.citation) }
                    print("\n" + prompt)
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
                let index = try EmbeddingIndex.load(from: indexOptions.folder)
                let list = try RetrievalQuestion.load(jsonl: URL(fileURLWithPath: questions))
                let report = try RetrievalReport.evaluate(index: index, embedder: RagCommand.embedder(model), questions: list)
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
