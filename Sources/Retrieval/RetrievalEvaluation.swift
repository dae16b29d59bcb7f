import Foundation

/// A question with the document section that answers it (`data/rag/questions.jsonl`).
public struct RetrievalQuestion: Sendable, Codable, Equatable {
    public let question: String
    public let source: String
    public let section: String

    public static func load(jsonl url: URL) throws -> [RetrievalQuestion] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw RetrievalError.unreadable(path: url.path) }
        var out: [RetrievalQuestion] = []
        for (i, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                out.append(try JSONDecoder().decode(RetrievalQuestion.self, from: Data(line.utf8)))
            } catch {
                throw RetrievalError.corruptIndex(path: url.path, reason: "line \(i + 1) is not {\"question\", \"source\", \"section\"}")
            }
        }
        return out
    }

    /// Whether `chunk` is the passage this question is about (same file, same innermost section).
    public func isAnswered(by chunk: Chunk) -> Bool {
        chunk.source == source && (chunk.section == section || chunk.section.hasSuffix(" › " + section))
    }
}

/// hit@k: the share of questions whose answering section is among the top k retrieved chunks.
public struct RetrievalReport: Sendable, Encodable {
    public struct Row: Sendable, Encodable {
        public let question: String
        public let expected: String
        /// 1-based rank of the first answering chunk, nil when not in the top `k`.
        public let rank: Int?
        public let top: String
    }

    public let n: Int
    public let hit_at_1: Double
    public let hit_at_3: Double
    public let rows: [Row]

    public static func evaluate(index: EmbeddingIndex, embedder: TextEmbedder, questions: [RetrievalQuestion],
                                k: Int = 3) throws -> RetrievalReport {
        var rows: [Row] = []
        for q in questions {
            let hits = try index.search(question: q.question, embedder: embedder, k: max(k, 3))
            let rank = hits.first { q.isAnswered(by: $0.chunk) }?.rank
            rows.append(Row(question: q.question, expected: "\(q.source) § \(q.section)", rank: rank,
                            top: hits.first?.chunk.citation ?? ""))
        }
        let n = max(rows.count, 1)
        return RetrievalReport(n: rows.count,
                               hit_at_1: Double(rows.filter { $0.rank == 1 }.count) / Double(n),
                               hit_at_3: Double(rows.filter { ($0.rank ?? .max) <= 3 }.count) / Double(n),
                               rows: rows)
    }
}
