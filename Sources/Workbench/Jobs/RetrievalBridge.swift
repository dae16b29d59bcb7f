import Engine
import Foundation
import Retrieval

/// One retrieved passage as the Prompt pane lists it.
public struct RetrievedChunk: Sendable, Equatable {
    public var rank: Int
    public var score: Float
    /// `file.md § Section (lines a–b)`.
    public var citation: String
    public var text: String
    public init(rank: Int, score: Float, citation: String, text: String) {
        self.rank = rank; self.score = score; self.citation = citation; self.text = text
    }
}

/// The retrieval index the Prompt pane found (shown before the first run).
public enum RetrievalIndexStatus: Sendable, Equatable {
    case ready(folder: String, chunks: Int, documents: Int, model: String)
    /// No index in `folder`: the pane says how to build one.
    case missing(folder: String)
}

/// The retrieval index and embedding model the Prompt pane uses, opened on a job queue and kept
/// until the index files change (`whet rag index` rewrote them). Used only from job queues.
// @unchecked Sendable: its mutable fields are touched only inside `lock.withLock`.
public final class RetrievalHost: @unchecked Sendable {
    public let indexFolder: URL
    public let embeddingModel: String
    private let lock = NSLock()
    private var cached: (retriever: Retriever, stamp: Date?)?

    public init(indexFolder: URL, embeddingModel: String = ModelLocator.defaultEmbeddingModelName) {
        self.indexFolder = indexFolder
        self.embeddingModel = embeddingModel
    }

    private var stamp: Date? {
        let chunks = indexFolder.appendingPathComponent(EmbeddingIndex.chunksFile).path
        return (try? FileManager.default.attributesOfItem(atPath: chunks))?[.modificationDate] as? Date
    }

    /// The retriever over the index as it is on disk now (`RetrievalError.noIndex` when there is none).
    public func retriever() throws -> Retriever {
        let now = stamp
        if let cached = lock.withLock({ cached }), cached.stamp == now, now != nil { return cached.retriever }
        let made = try Retriever(indexFolder: indexFolder, embeddingModel: embeddingModel)
        lock.withLock { cached = (made, now) }
        return made
    }

    /// The retriever; a missing index is also posted as `.retrievalIndex(.missing)` before the error.
    func retriever(reportingTo ctx: JobContext) throws -> Retriever {
        do {
            return try retriever()
        } catch RetrievalError.noIndex(_) {
            ctx.post(.retrievalIndex(.missing(folder: indexFolder.path)))
            throw RetrievalError.noIndex(path: indexFolder.path)
        }
    }

    /// Opens the index and model and posts what the index holds (the pane shows it before a run).
    public func open(context ctx: JobContext) throws {
        let index = try retriever(reportingTo: ctx).index
        ctx.post(.retrievalIndex(.ready(folder: indexFolder.path, chunks: index.chunks.count,
                                        documents: Set(index.chunks.map(\.source)).count, model: index.model)))
    }
}

extension GenerationWork {
    /// Retrieval-augmented generation, as `whet rag ask` does it: the `k` passages closest to the
    /// request's prompt are posted as `.retrieved`, then the model answers `RAGPromptBuilder`'s prompt
    /// (which lists them and asks to cite them) in place of the bare question.
    public static func runWithRetrieval(_ request: GenerationRequest, k: Int, retrieval: RetrievalHost, host: ModelHost,
                                        context ctx: JobContext) throws {
        guard host.model != nil else { throw WorkbenchError.noModel }
        guard !request.user.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw WorkbenchError.emptyPrompt }
        let retrieved = try retrieval.retriever(reportingTo: ctx).retrieve(request.user, k: k)
        ctx.post(.retrieved(slot: request.slot, retrieved.hits.map {
            RetrievedChunk(rank: $0.rank, score: $0.score, citation: $0.chunk.citation, text: $0.chunk.text)
        }))
        if ctx.isCancelled { return }
        var grounded = request
        grounded.user = retrieved.prompt
        try run([grounded], host: host, context: ctx)
    }
}
