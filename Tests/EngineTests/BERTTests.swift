import Foundation
import Testing
import TestSupport
@testable import Engine

@Suite struct MiniLMEmbeddingTests {
    @Test(.enabled(if: TestModels.hasMiniLM)) func embeddingsMatchTheNumpyReference() throws {
        let folder = try #require(try TestModels.miniLM())
        let embedder = try SentenceEmbedder(folder: folder)
        #expect(embedder.dimensions == 384 && embedder.pooling == .mean && embedder.normalize)
        #expect(embedder.maxSequenceLength == 256)
        let fixture = try MiniLMFixture.load()
        for c in fixture.embeddings {
            #expect(embedder.tokenIDs(c.text) == c.ids)
            let e = try embedder.embed(ids: c.ids)
            // Reference: float64 numpy BERT (scripts/make_minilm_fixtures.py); cosine ≥ 0.9999 required.
            let cosine = SentenceEmbedder.cosine(e, c.embedding)
            #expect(cosine >= 0.9999, "\(c.text): cosine \(cosine)")
            let maxDiff = zip(e, c.embedding).map { abs($0 - $1) }.max() ?? 1
            #expect(maxDiff < 1e-4, "\(c.text): max abs difference \(maxDiff)")
        }
    }

    @Test(.enabled(if: TestModels.hasMiniLM)) func closeSentencesScoreHigherThanUnrelatedOnes() throws {
        let folder = try #require(try TestModels.miniLM())
        let embedder = try SentenceEmbedder(folder: folder)
        let e = try embedder.embed([
            "A man is eating food.", "A man is eating a piece of bread.",
            "The new movie is awesome.", "The new film is so great.",
            "The stock market fell sharply today.",
        ])
        let cos = SentenceEmbedder.cosine
        #expect(cos(e[0], e[1]) > cos(e[0], e[2]) && cos(e[0], e[1]) > cos(e[0], e[4]))
        #expect(cos(e[2], e[3]) > cos(e[2], e[0]) && cos(e[2], e[3]) > cos(e[2], e[4]))
        for v in e {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
    }

    @Test(.enabled(if: TestModels.hasMiniLM)) func longInputIsTruncatedToTheModelLimit() throws {
        let folder = try #require(try TestModels.miniLM())
        let embedder = try SentenceEmbedder(folder: folder)
        let ids = embedder.tokenIDs(String(repeating: "word ", count: 600))
        #expect(ids.count == 256 && ids.first == 101 && ids.last == 102)
        #expect(try embedder.embed(ids: ids).count == 384)
    }
}
