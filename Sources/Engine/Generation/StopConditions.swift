/// Finds stop sequences in generated text that arrives a token piece at a time.
///
/// Matching is on UTF-8 bytes, so a stop sequence split across any number of tokens — even
/// inside a multi-byte character — is caught. Bytes that could still be the beginning of a stop
/// sequence are held back until the next piece decides; the stop text itself is never released.
public struct StopSequenceMatcher: Sendable {
    public let stopSequences: [String]
    private let patterns: [[UInt8]]
    private var pending: [UInt8] = []

    public init(stopSequences: [String]) {
        self.stopSequences = stopSequences
        patterns = stopSequences.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    public enum Outcome: Equatable, Sendable {
        /// These bytes are safe to show.
        case emit([UInt8])
        /// A stop sequence matched: show `before`, then stop.
        case stop(before: [UInt8], sequence: String)
    }

    /// Adds the bytes of one token.
    public mutating func append(_ bytes: [UInt8]) -> Outcome {
        if patterns.isEmpty { return .emit(bytes) }
        pending.append(contentsOf: bytes)
        // The earliest match wins; for two matches at the same place, the longer one.
        var best: (start: Int, pattern: [UInt8])?
        for pattern in patterns {
            guard let start = Self.firstOccurrence(of: pattern, in: pending) else { continue }
            if let current = best, current.start < start || (current.start == start && current.pattern.count >= pattern.count) {
                continue
            }
            best = (start, pattern)
        }
        if let best {
            let before = Array(pending[..<best.start])
            pending.removeAll()
            return .stop(before: before, sequence: String(decoding: best.pattern, as: UTF8.self))
        }
        let held = longestSuffixThatStartsAPattern()
        let releasable = pending.count - held
        let out = Array(pending[..<releasable])
        pending.removeFirst(releasable)
        return .emit(out)
    }

    /// Releases what was held back (the generation ended for another reason).
    public mutating func finish() -> [UInt8] {
        defer { pending.removeAll() }
        return pending
    }

    private func longestSuffixThatStartsAPattern() -> Int {
        var longest = 0
        for pattern in patterns {
            var length = min(pattern.count - 1, pending.count)
            while length > longest {
                if pending.suffix(length).elementsEqual(pattern.prefix(length)) { longest = length; break }
                length -= 1
            }
        }
        return longest
    }

    private static func firstOccurrence(of pattern: [UInt8], in text: [UInt8]) -> Int? {
        guard pattern.count <= text.count else { return nil }
        outer: for start in 0...(text.count - pattern.count) {
            for k in 0..<pattern.count where text[start + k] != pattern[k] { continue outer }
            return start
        }
        return nil
    }
}

/// Turns a stream of UTF-8 bytes into text without ever splitting a character: an incomplete
/// sequence at the end is kept until its remaining bytes arrive. Invalid bytes become U+FFFD.
public struct UTF8StreamDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    public mutating func append(_ bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        let complete = pending.count - Self.incompleteTailLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Bytes at the end that begin a multi-byte character whose continuation has not come yet.
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        var continuation = 0
        var i = bytes.count - 1
        while i >= 0 && continuation < 4 {
            let b = bytes[i]
            if b & 0xC0 == 0x80 {
                continuation += 1
                i -= 1
                continue
            }
            let needed: Int
            if b & 0xE0 == 0xC0 { needed = 1 } else if b & 0xF0 == 0xE0 { needed = 2 } else if b & 0xF8 == 0xF0 { needed = 3 } else { return 0 }
            return continuation < needed ? continuation + 1 : 0
        }
        return 0
    }
}
