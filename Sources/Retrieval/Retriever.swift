import Engine
import Foundation

extension SentenceTextEmbedder {
    /// The embedding model `nameOrPath` (a folder or an installed name, see `ModelLocator`).
    public convenience init(named nameOrPath: String) throws {
        try self.init(folder: try ModelLocator.locate(nameOrPath))
    }
}

/// What one retrieval found for a question, and the prompt that cites it.
public struct RetrievedContext: Sendable, Equatable {
    public let question: String
    public let hits: [SearchHit]
    /// `RAGPromptBuilder`'s prompt: the numbered passages, the question, the instruction to cite.
    public let prompt: String
}

/// An index on disk opened together with the embedding model its queries need: the one wiring of
/// retrieval that `whet rag ask` / `whet rag eval` and the workbench's Prompt pane share.
public final class Retriever {
    /// Folder name `whet rag index` writes to by default (in the current folder / workspace).
    public static let defaultIndexFolderName = ".whet-rag"

    public let indexFolder: URL
    public let index: EmbeddingIndex
    public let embedder: any TextEmbedder

    /// Loads the index in `indexFolder` (throws `RetrievalError.noIndex` when there is none), then
    /// the embedding model `embeddingModel` (folder or installed name).
    public init(indexFolder: URL, embeddingModel: String = ModelLocator.defaultEmbeddingModelName) throws {
        self.indexFolder = indexFolder
        index = try EmbeddingIndex.load(from: indexFolder)
        embedder = try SentenceTextEmbedder(named: embeddingModel)
    }

    /// The `k` passages closest to `question` and the prompt that asks to answer from them.
    public func retrieve(_ question: String, k: Int) throws -> RetrievedContext {
        let hits = try index.search(question: question, embedder: embedder, k: k)
        return RetrievedContext(question: question, hits: hits, prompt: RAGPromptBuilder.prompt(question: question, hits: hits))
    }
}
