import Foundation

/// A passage of a document, the unit that is embedded, retrieved and cited.
public struct Chunk: Sendable, Equatable, Codable {
    public let source: String
    /// Markdown heading path the passage sits under ("Setup › Tools"), empty for plain text.
    public let section: String
    public let text: String
    /// 1-based line range in the source file.
    public let firstLine: Int
    public let lastLine: Int

    /// How answers cite this chunk: `file.md § Section (lines a–b)`.
    public var citation: String {
        let lines = firstLine == lastLine ? "line \(firstLine)" : "lines \(firstLine)–\(lastLine)"
        return section.isEmpty ? "\(source) (\(lines))" : "\(source) § \(section) (\(lines))"
    }
}

/// Splits documents into overlapping passages of about `maxWords` words. Markdown headings start
/// a new passage (a passage never straddles two sections) and label the passages under them;
/// within a section, consecutive windows share `overlapWords` words so a fact cut at a boundary
/// still appears whole in one of them.
public struct Chunker: Sendable {
    public let maxWords: Int
    public let overlapWords: Int

    public init(maxWords: Int = 120, overlapWords: Int = 30) throws {
        guard maxWords >= 8 else { throw RetrievalError.invalidChunking(reason: "chunks need at least 8 words (got \(maxWords))") }
        guard overlapWords >= 0, overlapWords < maxWords / 2 else {
            throw RetrievalError.invalidChunking(reason: "overlap \(overlapWords) must be at least 0 and under half the chunk size \(maxWords)")
        }
        self.maxWords = maxWords
        self.overlapWords = overlapWords
    }

    public func chunks(of document: Document) -> [Chunk] {
        struct Word { let text: String; let line: Int }
        var result: [Chunk] = []
        var headings: [(level: Int, title: String)] = []
        var words: [Word] = []
        var section = ""
        var inFence = false

        func flush() {
            guard !words.isEmpty else { return }
            var start = 0
            while start < words.count {
                let end = min(words.count, start + maxWords)
                let slice = words[start..<end]
                result.append(Chunk(source: document.source, section: section,
                                    text: slice.map(\.text).joined(separator: " "),
                                    firstLine: slice.first?.line ?? 1, lastLine: slice.last?.line ?? 1))
                if end == words.count { break }
                start = end - overlapWords
            }
            words = []
        }

        for (index, rawLine) in document.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if document.isMarkdown {
                if line.hasPrefix("```") || line.hasPrefix("~~~") { inFence.toggle() }
                if !inFence, let heading = Self.heading(line) {
                    flush()
                    headings.removeAll { $0.level >= heading.level }
                    headings.append(heading)
                    section = headings.map(\.title).joined(separator: " › ")
                    continue
                }
            }
            for w in line.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                words.append(Word(text: String(w), line: index + 1))
            }
        }
        flush()
        return result
    }

    /// An ATX heading (`# Title` … `###### Title`): its level and title.
    static func heading(_ line: String) -> (level: Int, title: String)? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        guard rest.first == " " else { return nil }
        let title = rest.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "#")).trimmingCharacters(in: .whitespaces)
        return title.isEmpty ? nil : (hashes, title)
    }
}
