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
        guard symbols.count > 1 else {
            for s in symbols { ids.append(Int(s)) }
            return
        }
        // The lowest-ranked adjacent pair is merged first (leftmost on ties), with a heap of
        // candidate pairs over a linked list of symbols: O(n log n) in the word's length, where a
        // rescan after every merge was quadratic (a 4,000-character CJK word took seconds).
        let n = symbols.count
        var next = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
            for k in 0..<n { buffer[k] = k + 1 < n ? Int32(k + 1) : -1 }
            count = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
            for k in 0..<n { buffer[k] = Int32(k - 1) }
            count = n
        }
        var heap = PriorityHeap<MergeCandidate>()
        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let a = symbols[Int(left)], b = symbols[Int(right)]
            if let m = merges[Pair(left: a, right: b)] {
                heap.push(MergeCandidate(rank: m.rank, left: left, right: right, leftID: a, rightID: b, merged: m.merged))
            }
        }
        for k in 0..<(n - 1) { consider(Int32(k), Int32(k + 1)) }
        var alive = [Bool](repeating: true, count: n)
        while let c = heap.pop() {
            let l = Int(c.left), r = Int(c.right)
            // Stale: a neighbour changed since the pair was queued.
            guard alive[l], alive[r], next[l] == c.right, symbols[l] == c.leftID, symbols[r] == c.rightID else { continue }
            symbols[l] = c.merged
            alive[r] = false
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = c.left }
            consider(prev[l], c.left)
            consider(c.left, next[l])
        }
        var k: Int32 = 0
        while k >= 0 {
            ids.append(Int(symbols[Int(k)]))
            k = next[Int(k)]
        }
    }
}

/// A pair of adjacent symbols that a merge would join.
private struct MergeCandidate: HeapOrdered {
    let rank: Int32
    let left: Int32
    let right: Int32
    let leftID: Int32
    let rightID: Int32
    let merged: Int32

    /// Lower rank first; equal ranks: the leftmost pair first.
    @inline(__always)
    func before(_ other: MergeCandidate) -> Bool {
        rank < other.rank || (rank == other.rank && left < other.left)
    }
}


private func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
