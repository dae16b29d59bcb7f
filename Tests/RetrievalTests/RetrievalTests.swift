import Foundation
import Testing
import TestSupport
@testable import Retrieval

private var corpusFolder: URL { TestModels.repositoryRoot.appendingPathComponent("data/rag/corpus") }
private var questionsFile: URL { TestModels.repositoryRoot.appendingPathComponent("data/rag/questions.jsonl") }

/// Bag-of-words hashing embedder: deterministic and model-free, for index mechanics only.
private final class HashingEmbedder: TextEmbedder {
    let modelName = "hashing-test"
    let dimensions = 64
    func embed(_ texts: [String]) throws -> [[Float]] {
        texts.map { text in
            var v = [Float](repeating: 0, count: dimensions)
            for word in text.lowercased().split(whereSeparator: { !$0.isLetter }) {
                var h: UInt64 = 1469598103934665603
                for b in word.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
                v[Int(h % UInt64(dimensions))] += 1
            }
            return v
        }
    }
}

@Suite struct ChunkerTests {
    @Test func windowsOverlapAndStayInsideSections() throws {
        let words = (1...50).map { "w\($0)" }.joined(separator: " ")
        let doc = Document(source: "a.md", text: "# Title\nintro words here\n## Part\n\(words)\n## Next\nshort", isMarkdown: true)
        let chunks = try Chunker(maxWords: 20, overlapWords: 5).chunks(of: doc)
        #expect(chunks.map(\.section) == ["Title", "Title › Part", "Title › Part", "Title › Part", "Title › Next"])
        #expect(chunks[1].text.hasPrefix("w1 ") && chunks[1].text.hasSuffix(" w20"))
        #expect(chunks[2].text.hasPrefix("w16 "))
        #expect(chunks[3].text.hasSuffix("w50"))
        #expect(chunks[4].text == "short" && chunks[4].firstLine == 6)
        #expect(chunks[1].citation == "a.md § Title › Part (line 4)")
    }

    @Test func headingsInsideCodeFencesAreText() throws {
        let doc = Document(source: "c.md", text: "# A\n```\n# not a heading\n```\nafter", isMarkdown: true)
        let chunks = try Chunker(maxWords: 50, overlapWords: 0).chunks(of: doc)
        #expect(chunks.count == 1 && chunks[0].text.contains("# not a heading"))
        let plain = Document(source: "p.txt", text: "# just text", isMarkdown: false)
        #expect(try Chunker().chunks(of: plain).first?.section == "")
    }

    @Test func badSettingsAreErrors() {
        #expect(throws: RetrievalError.self) { try Chunker(maxWords: 4, overlapWords: 0) }
        #expect(throws: RetrievalError.self) { try Chunker(maxWords: 20, overlapWords: 10) }
    }
}

@Suite struct EmbeddingIndexTests {
    @Test func loadsTheShippedCorpus() throws {
        let docs = try DocumentLoader.load(folder: corpusFolder)
        #expect(docs.map(\.source) == ["beekeeping.md", "bicycle-maintenance.md", "chess-openings.md", "sourdough.md", "tides.md", "volcanoes.md"])
        #expect(throws: RetrievalError.self) { try DocumentLoader.load(folder: corpusFolder.appendingPathComponent("missing")) }
    }

    @Test func persistsAndSearchesByCosine() throws {
        let docs = try DocumentLoader.load(folder: corpusFolder)
        let embedder = HashingEmbedder()
        let index = try EmbeddingIndex.build(documents: docs, chunker: Chunker(), embedder: embedder)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-rag-\(UUID().uuidString)")
        try index.save(to: dir)
        let loaded = try EmbeddingIndex.load(from: dir)
        #expect(loaded.chunks == index.chunks && loaded.model == "hashing-test")
        let hits = try loaded.search(question: "varroa mite sugar roll alcohol wash", embedder: embedder, k: 3)
        #expect(hits.count == 3 && hits[0].chunk.section.hasSuffix("Varroa mites"))
        #expect(hits[0].score >= hits[1].score && hits[1].score >= hits[2].score)
        let prompt = RAGPromptBuilder.prompt(question: "q?", hits: hits)
        #expect(prompt.contains("[1] beekeeping.md § Beekeeping for beginners › Varroa mites"))
        #expect(prompt.hasSuffix("Question: q?\nAnswer:"))
        // A damaged index is a clear error, not a crash.
        try Data("{}".utf8).write(to: dir.appendingPathComponent(EmbeddingIndex.chunksFile))
        #expect(throws: RetrievalError.self) { try EmbeddingIndex.load(from: dir) }
        #expect(throws: RetrievalError.self) { try EmbeddingIndex.load(from: dir.appendingPathComponent("none")) }
    }

    @Test(.enabled(if: TestModels.hasMiniLM)) func miniLMFindsTheAnsweringSection() throws {
        let model = try #require(try TestModels.miniLM())
        let embedder = try SentenceTextEmbedder(folder: model)
        let index = try EmbeddingIndex.build(documents: DocumentLoader.load(folder: corpusFolder), chunker: Chunker(), embedder: embedder)
        let questions = try RetrievalQuestion.load(jsonl: questionsFile)
        let report = try RetrievalReport.evaluate(index: index, embedder: embedder, questions: questions)
        FileHandle.standardError.write(Data("retrieval over data/rag: hit@1 \(report.hit_at_1) hit@3 \(report.hit_at_3) (n=\(report.n))\n".utf8))
        for row in report.rows where row.rank != 1 {
            FileHandle.standardError.write(Data("  rank \(row.rank.map(String.init) ?? "miss"): \(row.question) → \(row.top)\n".utf8))
        }
        #expect(report.n == 19)
        #expect(report.hit_at_3 >= 0.95)
        #expect(report.hit_at_1 >= 0.85)
    }
}
