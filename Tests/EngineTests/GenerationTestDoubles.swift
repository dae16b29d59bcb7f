import Foundation
@testable import Engine

/// A deterministic stand-in for a causal language model: its cache is the list of token ids fed
/// so far, and the logits after each forward come from `logitsFor(cache)`. It counts every token
/// it processes, so tests can prove what prefix reuse saved.
final class FakeLanguageModel: CausalLanguageModel, @unchecked Sendable {
    let vocabularySize: Int
    let contextLength: Int
    let maximumBatchSize: Int
    private let logitsFor: ([Int32]) -> [Float]
    /// How far `truncateCache` can roll back (nil: anywhere).
    var truncationFloor: Int?
    var failAtPosition: Int?
    var delayPerForward: TimeInterval = 0

    private(set) var cache: [Int32] = []
    private(set) var processedTokens = 0
    private(set) var forwardCalls = 0

    init(vocabularySize: Int, contextLength: Int = 512, maximumBatchSize: Int = 8, logitsFor: @escaping ([Int32]) -> [Float]) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.maximumBatchSize = maximumBatchSize
        self.logitsFor = logitsFor
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func forward(tokens: [Int32], startingAt position: Int, logits: UnsafeMutableBufferPointer<Float>) throws {
        guard position == cache.count else { throw Failure(description: "forward at \(position) but cache holds \(cache.count)") }
        guard tokens.count <= maximumBatchSize else { throw Failure(description: "batch of \(tokens.count) > \(maximumBatchSize)") }
        if let fail = failAtPosition, position + tokens.count > fail { throw Failure(description: "simulated failure") }
        if delayPerForward > 0 { Thread.sleep(forTimeInterval: delayPerForward) }
        cache.append(contentsOf: tokens)
        processedTokens += tokens.count
        forwardCalls += 1
        let values = logitsFor(cache)
        for i in 0..<vocabularySize { logits[i] = values[i] }
    }

    func truncateCache(to count: Int) -> Int {
        let kept = min(count, truncationFloor.map { min($0, cache.count) } ?? cache.count)
        cache.removeSubrange(kept...)
        return kept
    }

    /// Logits that depend on the whole history, so every sampler path gets varied inputs.
    static func pseudoRandom(vocabularySize: Int) -> FakeLanguageModel {
        FakeLanguageModel(vocabularySize: vocabularySize) { cache in
            var hash: UInt64 = 1469598103934665603
            for t in cache { hash = (hash ^ UInt64(bitPattern: Int64(t))) &* 1099511628211 }
            var g = SeededGenerator(seed: hash)
            return (0..<vocabularySize).map { _ in g.nextNormal() * 2 }
        }
    }

    /// After the cache holds n tokens, the next token is `script[n - promptLength]` (a huge logit).
    static func scripted(vocabularySize: Int, promptLength: Int, script: [Int32], contextLength: Int = 512) -> FakeLanguageModel {
        FakeLanguageModel(vocabularySize: vocabularySize, contextLength: contextLength) { cache in
            var logits = [Float](repeating: 0, count: vocabularySize)
            let step = cache.count - promptLength
            if step >= 0 && step < script.count { logits[Int(script[step])] = 100 }
            return logits
        }
    }
}

/// A tokenizer over a fixed table of pieces; encodes by longest match.
final class FakeTokenizer: TextTokenizer, @unchecked Sendable {
    let pieces: [[UInt8]]
    let endOfGenerationTokens: Set<Int32>
    let beginningOfSequence: Int32?

    init(pieces: [String], endOfGeneration: Set<Int32> = [], beginningOfSequence: Int32? = nil) {
        self.pieces = pieces.map { Array($0.utf8) }
        endOfGenerationTokens = endOfGeneration
        self.beginningOfSequence = beginningOfSequence
    }

    init(bytePieces: [[UInt8]], endOfGeneration: Set<Int32> = []) {
        pieces = bytePieces
        endOfGenerationTokens = endOfGeneration
        beginningOfSequence = nil
    }

    struct Unencodable: Error {}

    func encode(_ text: String, addBeginningOfSequence: Bool, parseSpecialTokens: Bool) throws -> [Int32] {
        var ids: [Int32] = addBeginningOfSequence ? beginningOfSequence.map { [$0] } ?? [] : []
        var rest = Array(text.utf8)[...]
        while !rest.isEmpty {
            var best: (id: Int, length: Int)?
            for (id, piece) in pieces.enumerated() where !piece.isEmpty && rest.starts(with: piece) {
                if best == nil || piece.count > best?.length ?? 0 { best = (id, piece.count) }
            }
            guard let best else { throw Unencodable() }
            ids.append(Int32(best.id))
            rest = rest.dropFirst(best.length)
        }
        return ids
    }

    func bytes(of token: Int32) -> [UInt8] {
        token >= 0 && Int(token) < pieces.count ? pieces[Int(token)] : []
    }
}

/// Collects events from the generator's queue for inspection on the test thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [GenerationEvent] = []
    func append(_ e: GenerationEvent) { lock.withLock { storage.append(e) } }
    var events: [GenerationEvent] { lock.withLock { storage } }
    var tokens: [GeneratedToken] {
        events.compactMap { if case let .token(t) = $0 { return t } else { return nil } }
    }
    var streamedText: String {
        events.map { event -> String in
            switch event {
            case let .token(t): return t.text
            case let .text(s): return s
            default: return ""
            }
        }.joined()
    }
}
