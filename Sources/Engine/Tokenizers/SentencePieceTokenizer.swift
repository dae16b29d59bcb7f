import Foundation

/// Errors raised while building a tokenizer from a model file's metadata.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case unsupportedModel(path: String, model: String)
    case missingMetadata(path: String, key: String)
    case invalidMetadata(path: String, key: String, reason: String)
    case duplicateToken(path: String, token: String, firstID: Int, secondID: Int)

    public var description: String {
        switch self {
        case let .unsupportedModel(path, model):
            return "\(path): tokenizer.ggml.model is '\(model)', but only SentencePiece ('llama') vocabularies "
                + "are supported here; use a model whose GGUF carries a SentencePiece tokenizer"
        case let .missingMetadata(path, key):
            return "\(path): the GGUF has no '\(key)' key, so its tokenizer cannot be built; "
                + "re-convert the model with a current llama.cpp convert script"
        case let .invalidMetadata(path, key, reason):
            return "\(path): tokenizer metadata '\(key)' is invalid (\(reason)); the file is damaged or was written "
                + "by an incompatible converter"
        case let .duplicateToken(path, token, first, second):
            return "\(path): the vocabulary holds '\(token)' twice (ids \(first) and \(second)); the file is damaged"
        }
    }
}

/// The SentencePiece tokenizer as llama.cpp stores it in GGUF (`tokenizer.ggml.model = "llama"`):
/// a vocabulary with scores and token types, merged greedily by score, with byte fallback.
///
/// Encoding follows llama.cpp's `llm_tokenizer_spm` so that ids match `llama-tokenize` exactly:
/// 1. Special and user-defined tokens are cut out of the raw text first, longest first
///    (user-defined tokens always; control and unknown tokens only when `parseSpecial` is true).
/// 2. Each remaining text fragment gets spaces replaced by `▁` (and a leading `▁` when the file's
///    `add_space_prefix` is true and the fragment starts the text or follows a special token).
/// 3. Starting from single UTF-8 characters, the adjacent pair whose concatenation is a vocabulary
///    entry with the highest score is merged (ties: leftmost), until no pair forms a token.
/// 4. Symbols that are not tokens become `<0xNN>` byte tokens.
public final class SentencePieceTokenizer: Sendable {
    /// Token types as numbered in GGUF's `tokenizer.ggml.token_type`.
    public enum TokenType: UInt8, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// Options read from `tokenizer.ggml.*` besides the vocabulary itself.
    public struct Configuration: Sendable, Equatable {
        public var bosID: Int32
        public var eosID: Int32
        public var unknownID: Int32
        public var padID: Int32?
        /// `tokenizer.ggml.add_bos_token`: whether prompts normally start with BOS.
        public var addBOS: Bool
        /// `tokenizer.ggml.add_space_prefix`: whether a `▁` is put in front of each text fragment.
        public var addSpacePrefix: Bool
        /// `tokenizer.ggml.add_eos_token`: whether llama.cpp's `add_special` also appends EOS.
        public var addEOS: Bool
        /// Special tokens that swallow the whitespace after them (llama.cpp's RSTRIP attribute,
        /// which it sets for models named Phi-3).
        public var rightStrippedTokens: Set<Int32>

        public init(bosID: Int32 = 1, eosID: Int32 = 2, unknownID: Int32 = 0, padID: Int32? = nil,
                    addBOS: Bool = true, addSpacePrefix: Bool = true, addEOS: Bool = false,
                    rightStrippedTokens: Set<Int32> = []) {
            self.bosID = bosID
            self.eosID = eosID
            self.unknownID = unknownID
            self.padID = padID
            self.addBOS = addBOS
            self.addSpacePrefix = addSpacePrefix
            self.addEOS = addEOS
            self.rightStrippedTokens = rightStrippedTokens
        }
    }

    public let vocabularySize: Int
    public let bosID: Int32
    public let eosID: Int32
    public let unknownID: Int32
    public let padID: Int32?
    /// Whether the model expects BOS in front of a prompt (`tokenizer.ggml.add_bos_token`).
    public let addBOSByDefault: Bool
    public let addSpacePrefix: Bool
    /// Whether llama.cpp appends EOS when it adds special tokens (`tokenizer.ggml.add_eos_token`).
    public let addEOSByDefault: Bool
    /// Tokens that end generation: EOS plus end-of-turn style tokens found by their text, as
    /// llama.cpp does (for Gemma: `<eos>` and `<end_of_turn>`).
    public let endOfGenerationIDs: Set<Int32>

    /// Vocabulary entries' bytes as stored (spaces as `▁`).
    private let texts: PackedStrings
    /// What each token contributes to decoded text (`▁` → space, byte tokens → their byte,
    /// control/unknown/unused → nothing).
    private let pieces: PackedStrings
    private let scores: [Float]
    private let types: [TokenType]
    private let lookup: ByteStringTable
    /// Token id of each byte value (`<0xNN>`), or the unknown id when the vocabulary lacks it.
    private let byteTokens: [Int32]
    private let specials: SpecialTokenMatcher

    /// Builds the tokenizer from a GGUF's `tokenizer.ggml.*` metadata (the tensors are not touched).
    public convenience init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        let path = gguf.path
        guard let model = meta.string("tokenizer.ggml.model") else {
            throw TokenizerError.missingMetadata(path: path, key: "tokenizer.ggml.model")
        }
        guard model == "llama" else { throw TokenizerError.unsupportedModel(path: path, model: model) }
        let tokens = try meta.requiredStrings("tokenizer.ggml.tokens", path: path)
        var scores: [Float]?
        if let array = meta.array("tokenizer.ggml.scores") {
            if let floats = array.floatValues {
                scores = floats
            } else if let ints = array.intValues {
                scores = ints.map { Float($0) }
            } else {
                throw TokenizerError.invalidMetadata(path: path, key: "tokenizer.ggml.scores",
                                                     reason: "an array of \(array.elementTypeName), expected numbers")
            }
            if let s = scores, s.count < tokens.count {
                throw TokenizerError.invalidMetadata(path: path, key: "tokenizer.ggml.scores",
                                                     reason: "\(s.count) scores for \(tokens.count) tokens")
            }
        }
        let types = try meta.tokenTypes(count: tokens.count, path: path)

        // llama.cpp's defaults for an SPM vocabulary, overridden by the file; out-of-range ids
        // fall back to the default, as llama.cpp does.
        func tokenID(_ key: String, _ fallback: Int32?) -> Int32? {
            guard let v = meta.int(key), v >= 0, v < tokens.count else { return fallback }
            return Int32(v)
        }
        var config = Configuration()
        config.bosID = tokenID("tokenizer.ggml.bos_token_id", 1) ?? 1
        config.eosID = tokenID("tokenizer.ggml.eos_token_id", 2) ?? 2
        config.unknownID = tokenID("tokenizer.ggml.unknown_token_id", 0) ?? 0
        config.padID = tokenID("tokenizer.ggml.padding_token_id", nil)
        config.addBOS = meta.bool("tokenizer.ggml.add_bos_token") ?? true
        config.addSpacePrefix = meta.bool("tokenizer.ggml.add_space_prefix") ?? true
        config.addEOS = meta.bool("tokenizer.ggml.add_eos_token") ?? false
        if let types {
            config.rightStrippedTokens = phi3RightStrippedTokens(name: meta.string("general.name"), tokens: tokens,
                                                                 isSpecial: { i in [.control, .userDefined, .unknown].contains(types[i]) })
        }
        try self.init(tokens: tokens, scores: scores, types: types, configuration: config, source: path)
    }

    /// Builds the tokenizer from a vocabulary in memory (ids are the array indices). Missing
    /// scores count as 0 and missing types as normal.
    public init(tokens: [String], scores: [Float]?, types: [TokenType]?,
                configuration: Configuration, source: String = "vocabulary") throws {
        let count = tokens.count
        guard count > 0, count <= Int(Int32.max) else {
            throw TokenizerError.invalidMetadata(path: source, key: "tokenizer.ggml.tokens",
                                                 reason: "\(count) tokens")
        }
        vocabularySize = count
        var typeList = types.map { Array($0.prefix(count)) } ?? Array(repeating: .normal, count: count)
        if typeList.count < count { typeList += Array(repeating: .normal, count: count - typeList.count) }
        var scoreList = scores.map { Array($0.prefix(count)) } ?? Array(repeating: 0, count: count)
        if scoreList.count < count { scoreList += Array(repeating: 0, count: count - scoreList.count) }

        var textBuilder = PackedStrings.Builder(capacity: count)
        for (i, token) in tokens.enumerated() {
            // llama.cpp renames empty entries so every token stays addressable by its text.
            textBuilder.append(token.isEmpty ? Array("[EMPTY_\(i)]".utf8) : Array(token.utf8))
        }
        let texts = textBuilder.finish()
        let table = ByteStringTable(texts)
        if let (first, second) = table.duplicate {
            throw TokenizerError.duplicateToken(path: source, token: texts.string(Int(second)),
                                                firstID: Int(first), secondID: Int(second))
        }

        bosID = configuration.bosID
        eosID = configuration.eosID
        unknownID = configuration.unknownID
        padID = configuration.padID
        addBOSByDefault = configuration.addBOS
        addSpacePrefix = configuration.addSpacePrefix
        addEOSByDefault = configuration.addEOS

        var byteTokens = [Int32](repeating: configuration.unknownID, count: 256)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in 0..<256 {
            let name: [UInt8] = [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"), hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
            if let id = table.find(name, in: texts) {
                byteTokens[b] = id
            } else if let id = table.find([UInt8(b)], in: texts) {
                byteTokens[b] = id
            }
        }

        // Control tokens named "...unused..." are unused placeholders (llama.cpp marks them so too);
        // they stay control tokens for special-token parsing.
        var pieceBuilder = PackedStrings.Builder(capacity: count)
        for id in 0..<count {
            let text = texts[id]
            switch typeList[id] {
            case .normal:
                pieceBuilder.append(Self.unescapeSpaces(text))
            case .userDefined:
                pieceBuilder.append(Array(text))
            case .byte:
                if let b = Self.byteValue(text) { pieceBuilder.append([b]) } else { pieceBuilder.append([]) }
            case .control, .unknown, .unused, .undefined:
                pieceBuilder.append([])
            }
        }

        var eog: Set<Int32> = [configuration.eosID]
        for name in EndOfGeneration.tokenNames {
            if let id = table.find(Array(name.utf8), in: texts) { eog.insert(id) }
        }

        self.texts = texts
        self.pieces = pieceBuilder.finish()
        self.scores = scoreList
        self.types = typeList
        self.lookup = table
        self.byteTokens = byteTokens
        self.endOfGenerationIDs = eog
        self.specials = SpecialTokenMatcher(texts: texts, types: typeList, rightStripped: configuration.rightStrippedTokens)
    }

    // MARK: - Queries

    /// The id of a vocabulary entry given its exact stored text (e.g. `"<end_of_turn>"`, `"▁the"`).
    public func id(of token: String) -> Int32? {
        lookup.find(Array(token.utf8), in: texts)
    }

    /// The vocabulary entry as stored (e.g. `"▁Hello"`, `"<0x0A>"`, `"<bos>"`), nil for an unknown id.
    public func tokenText(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return texts.string(Int(id))
    }

    public func tokenType(_ id: Int32) -> TokenType? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return types[Int(id)]
    }

    public func score(_ id: Int32) -> Float? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return scores[Int(id)]
    }

    public func isControl(_ id: Int32) -> Bool { tokenType(id) == .control }

    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGenerationIDs.contains(id) }

    /// The bytes a single token contributes to decoded text: `▁` becomes a space, a byte token its
    /// byte (possibly part of a multi-byte character), control and unknown tokens nothing unless
    /// `renderSpecial` is true (then their text, e.g. `<end_of_turn>`).
    public func pieceBytes(_ id: Int32, renderSpecial: Bool = false) -> [UInt8] {
        guard id >= 0, Int(id) < vocabularySize else { return [] }
        let i = Int(id)
        if renderSpecial, types[i] == .control || types[i] == .unknown { return Array(texts[i]) }
        return Array(pieces[i])
    }

    /// `pieceBytes` as text. A byte token that is only part of a UTF-8 character yields U+FFFD here;
    /// streaming callers should collect `pieceBytes` and decode complete characters.
    public func piece(_ id: Int32, renderSpecial: Bool = false) -> String {
        String(decoding: pieceBytes(id, renderSpecial: renderSpecial), as: UTF8.self)
    }

    // MARK: - Decode

    /// Concatenates the tokens' pieces and reads them as UTF-8 (so runs of byte tokens become the
    /// characters they encode). BOS, EOS and other control tokens are skipped unless
    /// `renderSpecial`; ids outside the vocabulary are skipped. With `add_space_prefix` the space
    /// that encoding put in front of the text is removed again.
    public func decode(_ ids: [Int32]) -> String { decode(ids, renderSpecial: false) }

    public func decode(_ ids: [Int32], renderSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        var stripLeadingSpace = addSpacePrefix
        for id in ids {
            guard id >= 0, Int(id) < vocabularySize else { continue }
            let i = Int(id)
            let special = types[i] == .control || types[i] == .unknown
            let piece = renderSpecial && special ? texts[i] : pieces[i]
            if piece.isEmpty { continue }
            var start = piece.startIndex
            if stripLeadingSpace, !special, piece[start] == 0x20 { start += 1 }
            stripLeadingSpace = false
            bytes.append(contentsOf: piece[start...])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Encode

    /// Token ids of `text`. `addBOS` puts BOS first; `parseSpecial` lets control tokens written in
    /// the text (such as `<start_of_turn>`) become those tokens instead of being spelled out.
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        encode(text, addBOS: addBOS, parseSpecial: parseSpecial, plainText: [])
    }

    /// `encode` with special tokens recognised except inside the `plainText` byte ranges.
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool, plainText: [Range<Int>]) -> [Int32] {
        var output: [Int32] = []
        if addBOS { output.append(bosID) }
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return output }
        output.reserveCapacity(bytes.count / 3 + 4)

        let fragments = specials.partition(bytes, parseSpecial: parseSpecial, plainText: plainText)
        var previousWasSpecial = true
        var scratch = SPMScratch()
        for fragment in fragments {
            switch fragment {
            case let .token(id):
                output.append(id)
                previousWasSpecial = true
            case let .text(range):
                encodeFragment(bytes[range], spacePrefix: addSpacePrefix && previousWasSpecial,
                               scratch: &scratch, into: &output)
                previousWasSpecial = false
            }
        }
        return output
    }

    /// One text fragment through SentencePiece's merge loop (llama.cpp's `llm_tokenizer_spm`).
    private func encodeFragment(_ raw: ArraySlice<UInt8>, spacePrefix: Bool, scratch: inout SPMScratch,
                                into output: inout [Int32]) {
        // Escape spaces as U+2581 (E2 96 81).
        var text = scratch.text
        text.removeAll(keepingCapacity: true)
        text.reserveCapacity(raw.count + 16)
        if spacePrefix { text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for b in raw {
            if b == 0x20 { text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { text.append(b) }
        }
        defer { scratch.text = text }
        let n = text.count
        if n == 0 { return }

        // One symbol per UTF-8 character (by its lead byte, as llama.cpp's unicode_len_utf8).
        var start = scratch.start, length = scratch.length, prev = scratch.prev, next = scratch.next
        start.removeAll(keepingCapacity: true); length.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true); next.removeAll(keepingCapacity: true)
        var offset = 0
        while offset < n {
            let lead = text[offset]
            let charLength: Int = lead < 0xC0 ? 1 : (lead < 0xE0 ? 2 : (lead < 0xF0 ? 3 : 4))
            let len = min(charLength, n - offset)
            start.append(Int32(offset))
            length.append(Int32(len))
            offset += len
        }
        let symbolCount = start.count
        for i in 0..<symbolCount {
            prev.append(Int32(i - 1))
            next.append(i + 1 == symbolCount ? -1 : Int32(i + 1))
        }
        var heap = scratch.heap
        heap.removeAll(keepingCapacity: true)
        defer {
            scratch.start = start; scratch.length = length; scratch.prev = prev; scratch.next = next
            scratch.heap = heap
        }

        texts.bytes.withUnsafeBufferPointer { vocabBytes in
        texts.offsets.withUnsafeBufferPointer { vocabOffsets in
        lookup.slots.withUnsafeBufferPointer { slots in
        scores.withUnsafeBufferPointer { scorePtr in
        text.withUnsafeBufferPointer { textPtr in
        start.withUnsafeMutableBufferPointer { start in
        length.withUnsafeMutableBufferPointer { length in
        prev.withUnsafeMutableBufferPointer { prev in
        next.withUnsafeMutableBufferPointer { next in
            let table = ByteStringTable.View(slots: slots, mask: lookup.mask, bytes: vocabBytes, offsets: vocabOffsets)
            guard let base = textPtr.baseAddress else { return }

            func tryAddBigram(_ left: Int32, _ right: Int32) {
                if left < 0 || right < 0 { return }
                let size = Int(length[Int(left)] + length[Int(right)])
                let id = table.find(base + Int(start[Int(left)]), size)
                if id < 0 { return }
                heap.push(Bigram(left: left, right: right, score: scorePtr[Int(id)], size: Int32(size)))
            }

            for i in 1..<max(symbolCount, 1) { tryAddBigram(Int32(i - 1), Int32(i)) }

            while let bigram = heap.pop() {
                let l = Int(bigram.left), r = Int(bigram.right)
                // Skip pairs made stale by an earlier merge.
                if length[l] == 0 || length[r] == 0 || length[l] + length[r] != bigram.size { continue }
                length[l] += length[r]
                length[r] = 0
                next[l] = next[r]
                if next[r] >= 0 { prev[Int(next[r])] = bigram.left }
                tryAddBigram(prev[l], bigram.left)
                tryAddBigram(bigram.left, next[l])
            }

            // Every merged symbol is a vocabulary entry by construction; only single characters
            // can be missing, and those fall back to byte tokens.
            var i: Int32 = 0
            while i >= 0 {
                let s = Int(i)
                let id = table.find(base + Int(start[s]), Int(length[s]))
                if id >= 0 {
                    output.append(id)
                } else {
                    for k in 0..<Int(length[s]) { output.append(byteTokens[Int(base[Int(start[s]) + k])]) }
                }
                i = next[s]
            }
        }}}}}}}}}
    }

    // MARK: - Helpers

    private static func unescapeSpaces(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == 0xE2, i + 2 < text.endIndex, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// The byte of a `<0xNN>` token.
    private static func byteValue(_ text: ArraySlice<UInt8>) -> UInt8? {
        let t = Array(text)
        guard t.count == 6, t[0] == UInt8(ascii: "<"), t[1] == UInt8(ascii: "0"), t[2] == UInt8(ascii: "x"),
              t[5] == UInt8(ascii: ">") else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        guard let hi = nibble(t[3]), let lo = nibble(t[4]) else { return nil }
        return hi << 4 | lo
    }
}

// MARK: - Storage

/// Many byte strings in one buffer: string i is `bytes[offsets[i] ..< offsets[i + 1]]`.
struct PackedStrings: Sendable {
    let bytes: [UInt8]
    let offsets: [Int32]

    var count: Int { offsets.count - 1 }

    subscript(i: Int) -> ArraySlice<UInt8> { bytes[Int(offsets[i])..<Int(offsets[i + 1])] }

    func length(_ i: Int) -> Int { Int(offsets[i + 1] - offsets[i]) }

    func string(_ i: Int) -> String { String(decoding: self[i], as: UTF8.self) }

    struct Builder {
        var bytes: [UInt8] = []
        var offsets: [Int32] = [0]
        init(capacity: Int) {
            offsets.reserveCapacity(capacity + 1)
            bytes.reserveCapacity(capacity * 8)
        }
        mutating func append<C: Collection>(_ s: C) where C.Element == UInt8 {
            bytes.append(contentsOf: s)
            offsets.append(Int32(bytes.count))
        }
        func finish() -> PackedStrings { PackedStrings(bytes: bytes, offsets: offsets) }
    }
}

/// Open-addressing hash table from a token's bytes to its id, probed without building Strings.
struct ByteStringTable: Sendable {
    let slots: [Int32]
    let mask: Int
    /// The first pair of ids found with the same text, if any.
    let duplicate: (Int32, Int32)?

    init(_ strings: PackedStrings) {
        var capacity = 16
        while capacity < strings.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        var duplicate: (Int32, Int32)?
        strings.bytes.withUnsafeBufferPointer { bytes in
            strings.offsets.withUnsafeBufferPointer { offsets in
                slots.withUnsafeMutableBufferPointer { slots in
                    guard let base = bytes.baseAddress else { return }
                    for id in 0..<strings.count {
                        let p = base + Int(offsets[id])
                        let n = Int(offsets[id + 1] - offsets[id])
                        var slot = Self.hash(p, n) & mask
                        while slots[slot] >= 0 {
                            let other = Int(slots[slot])
                            let m = Int(offsets[other + 1] - offsets[other])
                            if m == n, memcmp(base + Int(offsets[other]), p, n) == 0 {
                                if duplicate == nil { duplicate = (Int32(other), Int32(id)) }
                                break
                            }
                            slot = (slot + 1) & mask
                        }
                        if slots[slot] < 0 { slots[slot] = Int32(id) }
                    }
                }
            }
        }
        self.slots = slots
        self.mask = mask
        self.duplicate = duplicate
    }

    func find(_ key: [UInt8], in strings: PackedStrings) -> Int32? {
        let id = key.withUnsafeBufferPointer { k -> Int32 in
            strings.bytes.withUnsafeBufferPointer { bytes in
                strings.offsets.withUnsafeBufferPointer { offsets in
                    slots.withUnsafeBufferPointer { slots in
                        guard let kp = k.baseAddress, bytes.baseAddress != nil else { return -1 }
                        return View(slots: slots, mask: mask, bytes: bytes, offsets: offsets).find(kp, k.count)
                    }
                }
            }
        }
        return id >= 0 ? id : nil
    }

    /// FNV-1a, 64-bit.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n {
            h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The table over borrowed buffers, for hot loops.
    struct View {
        let slots: UnsafeBufferPointer<Int32>
        let mask: Int
        let bytes: UnsafeBufferPointer<UInt8>
        let offsets: UnsafeBufferPointer<Int32>

        @inline(__always)
        func find(_ key: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
            guard let base = bytes.baseAddress else { return -1 }
            var slot = ByteStringTable.hash(key, n) & mask
            while true {
                let id = slots[slot]
                if id < 0 { return -1 }
                let o = Int(offsets[Int(id)])
                if Int(offsets[Int(id) + 1]) - o == n, memcmp(base + o, key, n) == 0 { return id }
                slot = (slot + 1) & mask
            }
        }
    }
}

// MARK: - Special tokens

/// Cuts special and user-defined tokens out of raw text before SentencePiece sees it, with the
/// same result as llama.cpp's `tokenizer_st_partition`: tokens are taken longest first (equal
/// lengths by id), each at its leftmost non-overlapping occurrences in text not yet claimed.
/// Instead of one substring search per special token (thousands in Gemma's vocabulary), all
/// occurrences are found in one pass with a trie and then claimed in that priority order.
struct SpecialTokenMatcher: Sendable {
    enum Fragment: Equatable {
        case token(Int32)
        case text(Range<Int>)
    }

    /// Special ids in priority order (index = rank; rank 0 is tried first).
    private let ordered: [Int32]
    private let orderedLengths: [Int]
    private let orderedIsUserDefined: [Bool]
    /// Trie: children of the root by byte, deeper edges keyed by `node << 8 | byte`.
    private let rootChildren: [Int32]
    private let edges: [Int: Int32]
    /// Rank of the special token ending at each trie node, or -1.
    private let terminalRank: [Int32]
    /// Per rank: the token deletes the whitespace that follows it (llama.cpp's RSTRIP).
    private let orderedRightStrips: [Bool]

    init(texts: PackedStrings, types: [SentencePieceTokenizer.TokenType], rightStripped: Set<Int32> = []) {
        var ids: [Int32] = []
        for id in 0..<texts.count {
            switch types[id] {
            case .control, .userDefined, .unknown: ids.append(Int32(id))
            default: break
            }
        }
        ids.sort { a, b in
            let la = texts.length(Int(a)), lb = texts.length(Int(b))
            return la != lb ? la > lb : a < b
        }
        var rootChildren = [Int32](repeating: -1, count: 256)
        var edges: [Int: Int32] = [:]
        var terminalRank: [Int32] = [-1]
        for (rank, id) in ids.enumerated() {
            var node = 0
            for b in texts[Int(id)] {
                let existing = node == 0 ? (rootChildren[Int(b)] >= 0 ? rootChildren[Int(b)] : nil) : edges[node << 8 | Int(b)]
                if let child = existing {
                    node = Int(child)
                } else {
                    terminalRank.append(-1)
                    let child = terminalRank.count - 1
                    if node == 0 { rootChildren[Int(b)] = Int32(child) } else { edges[node << 8 | Int(b)] = Int32(child) }
                    node = child
                }
            }
            // Texts are unique, so each node ends at most one token.
            if node != 0 { terminalRank[node] = Int32(rank) }
        }
        ordered = ids
        orderedLengths = ids.map { texts.length(Int($0)) }
        orderedIsUserDefined = ids.map { types[Int($0)] == .userDefined }
        orderedRightStrips = ids.map { rightStripped.contains($0) }
        self.rootChildren = rootChildren
        self.edges = edges
        self.terminalRank = terminalRank
    }

    /// `plainText`: byte ranges (sorted, not overlapping) where control tokens are not recognised,
    /// as if `parseSpecial` were false there: message contents inside a rendered chat template.
    func partition(_ text: [UInt8], parseSpecial: Bool, plainText: [Range<Int>] = []) -> [Fragment] {
        let n = text.count
        // Per byte: inside a plain-text range (only when there are any).
        var plain: [Bool] = []
        if parseSpecial, !plainText.isEmpty {
            plain = [Bool](repeating: false, count: n)
            for range in plainText {
                for k in max(0, range.lowerBound)..<min(n, max(range.lowerBound, range.upperBound)) { plain[k] = true }
            }
        }
        // Every occurrence of every eligible special token, keyed so that sorting orders them by
        // (priority, position).
        var candidates: [Int] = []
        for position in 0..<n {
            var child = rootChildren[Int(text[position])]
            var p = position + 1
            while child >= 0 {
                let node = Int(child)
                let rank = terminalRank[node]
                if rank >= 0, parseSpecial || orderedIsUserDefined[Int(rank)] {
                    // A control token may not begin, end or lie inside plain text.
                    let allowed = plain.isEmpty || orderedIsUserDefined[Int(rank)]
                        || !plain[position..<(position + orderedLengths[Int(rank)])].contains(true)
                    if allowed { candidates.append(Int(rank) * (n + 1) + position) }
                }
                guard p < n, let next = edges[node << 8 | Int(text[p])] else { break }
                child = next
                p += 1
            }
        }
        if candidates.isEmpty { return [.text(0..<n)] }
        candidates.sort()

        var claimed = [Bool](repeating: false, count: n)
        var rankAt = [Int32](repeating: -1, count: n)
        /// Whitespace deleted by a right-stripping token (claimed, but by no token).
        var deleted: [Bool] = []
        for key in candidates {
            let rank = key / (n + 1), position = key % (n + 1)
            let end = position + orderedLengths[rank]
            var free = true
            for k in position..<end where claimed[k] { free = false; break }
            if !free { continue }
            for k in position..<end { claimed[k] = true }
            rankAt[position] = Int32(rank)
            if orderedRightStrips[rank] {
                // C isspace on the unclaimed text up to the next claimed byte, as llama.cpp strips
                // the right remainder of the fragment at the moment the token is cut out.
                if deleted.isEmpty { deleted = [Bool](repeating: false, count: n) }
                var k = end
                while k < n, !claimed[k], [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(text[k]) {
                    claimed[k] = true
                    deleted[k] = true
                    k += 1
                }
            }
        }

        var fragments: [Fragment] = []
        var runStart = 0
        var position = 0
        while position < n {
            let rank = rankAt[position]
            if rank >= 0 {
                if runStart < position { fragments.append(.text(runStart..<position)) }
                fragments.append(.token(ordered[Int(rank)]))
                position += orderedLengths[Int(rank)]
                while position < n, !deleted.isEmpty, deleted[position] { position += 1 }
                runStart = position
            } else {
                position += 1
            }
        }
        if runStart < n { fragments.append(.text(runStart..<n)) }
        return fragments
    }
}

/// llama.cpp's per-model token attributes for models whose `general.name` contains "phi-3" or
/// "phi3" (any case): every special token (control, user-defined, unknown) and `</s>` get RSTRIP,
/// except `<unk>`, `<s>` and `<|endoftext|>`.
func phi3RightStrippedTokens(name: String?, tokens: [String], isSpecial: (Int) -> Bool) -> Set<Int32> {
    guard let lower = name?.lowercased(), lower.contains("phi-3") || lower.contains("phi3") else { return [] }
    var out: Set<Int32> = []
    for (i, t) in tokens.enumerated() where isSpecial(i) || t == "</s>" {
        if t == "<unk>" || t == "<s>" || t == "<|endoftext|>" { continue }
        out.insert(Int32(i))
    }
    return out
}

// MARK: - SentencePiece merge state

struct Bigram: HeapOrdered {
    var left: Int32
    var right: Int32
    var score: Float
    var size: Int32

    /// Higher score first; equal scores: the leftmost pair first.
    @inline(__always)
    func before(_ other: Bigram) -> Bool {
        score > other.score || (score == other.score && left < other.left)
    }
}

/// Buffers reused across the fragments of one `encode` call.
struct SPMScratch {
    var text: [UInt8] = []
    var start: [Int32] = []
    var length: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap = PriorityHeap<Bigram>()
}


// MARK: - Generation

extension SentencePieceTokenizer {
    public func encode(_ text: String, addBeginningOfSequence: Bool, plainText: [Range<Int>]) throws -> [Int32] {
        encode(text, addBOS: addBeginningOfSequence, parseSpecial: true, plainText: plainText)
    }
}
