import Engine
import Foundation

/// Turns texts into vectors. The index only needs this, not a particular model.
public protocol TextEmbedder: AnyObject {
    /// Name recorded in the index so queries use the same model.
    var modelName: String { get }
    var dimensions: Int { get }
    func embed(_ texts: [String]) throws -> [[Float]]
}

/// `SentenceEmbedder` (all-MiniLM-L6-v2 by default) as a retrieval embedder.
public final class SentenceTextEmbedder: TextEmbedder {
    public let embedder: SentenceEmbedder
    public init(folder: URL) throws { embedder = try SentenceEmbedder(folder: folder) }
    public var modelName: String { embedder.folder.lastPathComponent }
    public var dimensions: Int { embedder.dimensions }
    public func embed(_ texts: [String]) throws -> [[Float]] { try embedder.embed(texts) }
}

/// One retrieved passage and its cosine similarity to the query.
public struct SearchHit: Sendable, Equatable {
    public let chunk: Chunk
    public let score: Float
    public let rank: Int
}

/// Chunks and their embeddings, searched by cosine similarity, stored in a folder as
/// `chunks.json` (model, settings, chunks) and `embeddings.safetensors` (`[N, D]` F32), each
/// written atomically.
public struct EmbeddingIndex: Sendable {
    public static let chunksFile = "chunks.json"
    public static let embeddingsFile = "embeddings.safetensors"

    struct Manifest: Codable {
        let format: Int
        let model: String
        let dimensions: Int
        let chunk_words: Int
        let overlap_words: Int
        let chunks: [Chunk]
    }

    public let model: String
    public let dimensions: Int
    public let chunkWords: Int
    public let overlapWords: Int
    public let chunks: [Chunk]
    /// Row-major `[chunks.count, dimensions]`, each row L2-normalised.
    let vectors: [Float]

    /// Chunks every document and embeds the chunks in batches; `progress(done, total)` after each.
    public static func build(documents: [Document], chunker: Chunker, embedder: TextEmbedder,
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> EmbeddingIndex {
        let chunks = documents.flatMap { chunker.chunks(of: $0) }
        var vectors: [Float] = []
        vectors.reserveCapacity(chunks.count * embedder.dimensions)
        let batch = 16
        var done = 0
        while done < chunks.count {
            let part = chunks[done..<min(chunks.count, done + batch)]
            // The citation header goes into the embedded text: titles carry much of a passage's topic.
            for v in try embedder.embed(part.map { Self.embeddingText($0) }) { vectors += normalized(v) }
            done += part.count
            progress(done, chunks.count)
        }
        return EmbeddingIndex(model: embedder.modelName, dimensions: embedder.dimensions, chunkWords: chunker.maxWords,
                              overlapWords: chunker.overlapWords, chunks: chunks, vectors: vectors)
    }

    static func embeddingText(_ chunk: Chunk) -> String {
        chunk.section.isEmpty ? chunk.text : chunk.section + ": " + chunk.text
    }

    init(model: String, dimensions: Int, chunkWords: Int, overlapWords: Int, chunks: [Chunk], vectors: [Float]) {
        self.model = model
        self.dimensions = dimensions
        self.chunkWords = chunkWords
        self.overlapWords = overlapWords
        self.chunks = chunks
        self.vectors = vectors
    }

    /// The `k` chunks most similar to `query`, best first.
    public func search(_ query: [Float], k: Int) -> [SearchHit] {
        guard query.count == dimensions, k > 0, !chunks.isEmpty else { return [] }
        let q = normalized(query)
        var scored: [(Int, Float)] = []
        scored.reserveCapacity(chunks.count)
        vectors.withUnsafeBufferPointer { v in
            q.withUnsafeBufferPointer { qp in
                guard let vb = v.baseAddress, let qb = qp.baseAddress else { return }
                for i in 0..<chunks.count { scored.append((i, Kernels.dot(vb + i * dimensions, qb, dimensions))) }
            }
        }
        scored.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return scored.prefix(k).enumerated().map { SearchHit(chunk: chunks[$1.0], score: $1.1, rank: $0 + 1) }
    }

    /// Embeds `question` with `embedder` (which must be the index's model) and searches.
    public func search(question: String, embedder: TextEmbedder, k: Int) throws -> [SearchHit] {
        guard embedder.modelName == model else { throw RetrievalError.modelMismatch(index: model, model: embedder.modelName) }
        guard let q = try embedder.embed([question]).first else { return [] }
        return search(q, k: k)
    }

    public func save(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafetensorsWriter()
        writer.metadata = ["model": model]
        writer.add("embeddings", try Tensor(shape: [chunks.count, dimensions], values: vectors))
        try writer.write(to: folder.appendingPathComponent(Self.embeddingsFile))
        let manifest = Manifest(format: 1, model: model, dimensions: dimensions, chunk_words: chunkWords,
                                overlap_words: overlapWords, chunks: chunks)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(manifest).write(to: folder.appendingPathComponent(Self.chunksFile), options: .atomic)
    }

    public static func load(from folder: URL) throws -> EmbeddingIndex {
        let chunksURL = folder.appendingPathComponent(chunksFile)
        guard FileManager.default.fileExists(atPath: chunksURL.path) else { throw RetrievalError.noIndex(path: folder.path) }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: chunksURL))
        } catch {
            throw RetrievalError.corruptIndex(path: folder.path, reason: "\(chunksFile) does not decode")
        }
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(path: folder.appendingPathComponent(embeddingsFile).path)
        } catch {
            throw RetrievalError.corruptIndex(path: folder.path, reason: "\(error)")
        }
        let tensor = try file.floatTensor("embeddings")
        guard tensor.shape == [manifest.chunks.count, manifest.dimensions] else {
            throw RetrievalError.corruptIndex(path: folder.path,
                                              reason: "embeddings are \(tensor.shape) but chunks.json lists \(manifest.chunks.count) × \(manifest.dimensions)")
        }
        return EmbeddingIndex(model: manifest.model, dimensions: manifest.dimensions, chunkWords: manifest.chunk_words,
                              overlapWords: manifest.overlap_words, chunks: manifest.chunks, vectors: tensor.toArray())
    }
}

func normalized(_ v: [Float]) -> [Float] {
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return norm > 0 ? v.map { $0 / norm } : v
}

/// Builds the prompt a generator answers from: numbered sources with their citations, then the
/// question, with the instruction to answer only from the sources and cite them as [n].
public enum RAGPromptBuilder {
    public static func prompt(question: String, hits: [SearchHit]) -> String {
        var out = "Answer the question using only the sources below. Cite the sources you use as [1], [2], … "
        out += "If the sources do not contain the answer, say so.\n\n"
        for (i, hit) in hits.enumerated() {
            out += "[\(i + 1)] \(hit.chunk.citation)\n\(hit.chunk.text)\n\n"
        }
        out += "Question: \(question)\nAnswer:"
        return out
    }
}
