/// Byte-pair encoding over a vocabulary and ranked merges (GPT-2, Llama 3, Qwen2).
///
/// A word starts as one symbol per character (for byte-level models, per byte-mapped character);
/// the adjacent pair with the lowest merge rank is merged, leftmost first, until no pair has a rank.
struct BPEModel: Sendable {
    struct Pair: Hashable, Sendable {
        let left: Int32
        let right: Int32
    }

    let vocab: [String: Int]
    /// (left id, right id) → (rank, merged id).
    let merges: [Pair: (rank: Int32, merged: Int32)]
    let unknownID: Int?
    let byteFallback: Bool
    /// Llama 3: a word that is itself in the vocabulary is taken whole, without merging.
    let ignoreMerges: Bool
    let continuingPrefix: String?
    let endOfWordSuffix: String?

    init(vocab: [String: Int], merges: [(String, String)], unknownID: Int?, byteFallback: Bool, ignoreMerges: Bool,
         continuingPrefix: String?, endOfWordSuffix: String?, path: String) throws {
        self.vocab = vocab
        self.unknownID = unknownID
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.continuingPrefix = continuingPrefix
        self.endOfWordSuffix = endOfWordSuffix
        var table: [Pair: (rank: Int32, merged: Int32)] = [:]
        table.reserveCapacity(merges.count)
        let prefixLength = continuingPrefix?.count ?? 0
        for (rank, (a, b)) in merges.enumerated() {
            guard let left = vocab[a], let right = vocab[b] else {
                throw HFTokenizerError.invalid(path: path, reason: "merge \(rank) ('\(a) \(b)') uses a token missing from the vocabulary")
            }
            let mergedText = a + String(b.dropFirst(prefixLength))
            guard let merged = vocab[mergedText] else {
                throw HFTokenizerError.invalid(path: path, reason: "merge \(rank) makes '\(mergedText)', which is not in the vocabulary")
            }
            let pair = Pair(left: Int32(left), right: Int32(right))
            if table[pair] == nil { table[pair] = (Int32(rank), Int32(merged)) }
        }
        self.merges = table
    }

    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        guard !word.isEmpty else { return }
        if ignoreMerges {
            var whole = String(String.UnicodeScalarView(word))
            if let suffix = endOfWordSuffix { whole += suffix }
            if let id = vocab[whole] {
                ids.append(id)
                return
            }
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var pendingUnknown = false
        for (k, s) in word.enumerated() {
            var text = String(s)
            if k > 0, let prefix = continuingPrefix { text = prefix + text }
            if k == word.count - 1, let suffix = endOfWordSuffix { text += suffix }
            if let id = vocab[text] {
                symbols.append(Int32(id))
                pendingUnknown = false
            } else if byteFallback {
                for byte in String(s).utf8 {
                    let name = "<0x" + hexByte(byte) + ">"
                    if let id = vocab[name] { symbols.append(Int32(id)) } else if let unk = unknownID { symbols.append(Int32(unk)) }
                }
            } else if let unk = unknownID, !pendingUnknown {
                symbols.append(Int32(unk))
                pendingUnknown = true
            }
        }
        while symbols.count > 1 {
            var bestRank = Int32.max
            var bestIndex = -1
            var bestMerged: Int32 = 0
            for k in 0..<(symbols.count - 1) {
                if let m = merges[Pair(left: symbols[k], right: symbols[k + 1])], m.rank < bestRank {
                    bestRank = m.rank
                    bestIndex = k
                    bestMerged = m.merged
                }
            }
            guard bestIndex >= 0 else { break }
            symbols[bestIndex] = bestMerged
            symbols.remove(at: bestIndex + 1)
        }
        for s in symbols { ids.append(Int(s)) }
    }
}

private func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
