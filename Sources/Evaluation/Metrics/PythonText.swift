/// Text handling with the exact semantics of Python 3 `str`, which the reference metric libraries
/// (rouge-score, sacreBLEU) are written against.
///
/// Python compares and indexes strings by code point, while Swift's `String` compares by canonical
/// equivalence ("é" == "e\u{301}") and indexes by grapheme cluster. To get the same numbers the
/// metrics work on arrays of Unicode scalars and never on Swift `String` equality.
enum PythonText {
    /// `str.isspace()` for one code point (Python 3.11, Unicode 14): the set `str.split()`,
    /// `str.strip()` and `str.rstrip()` use when called without arguments.
    @inline(__always)
    static func isSpace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    static func scalars(_ s: String) -> [UInt32] {
        s.unicodeScalars.map(\.value)
    }

    static func string(_ scalars: some Sequence<UInt32>) -> String {
        var out = String.UnicodeScalarView()
        for v in scalars {
            if let u = Unicode.Scalar(v) { out.append(u) }
        }
        return String(out)
    }

    /// `str.split()` without arguments: runs of whitespace separate, no empty pieces.
    static func split(_ s: [UInt32]) -> [ArraySlice<UInt32>] {
        var out: [ArraySlice<UInt32>] = []
        var start = -1
        for i in 0..<s.count {
            if isSpace(s[i]) {
                if start >= 0 { out.append(s[start..<i]); start = -1 }
            } else if start < 0 {
                start = i
            }
        }
        if start >= 0 { out.append(s[start..<s.count]) }
        return out
    }

    /// `str.strip()` without arguments.
    static func strip(_ s: [UInt32]) -> ArraySlice<UInt32> {
        var lo = 0, hi = s.count
        while lo < hi, isSpace(s[lo]) { lo += 1 }
        while hi > lo, isSpace(s[hi - 1]) { hi -= 1 }
        return s[lo..<hi]
    }

    /// `str.rstrip()` without arguments.
    static func rstrip(_ s: [UInt32]) -> ArraySlice<UInt32> {
        var hi = s.count
        while hi > 0, isSpace(s[hi - 1]) { hi -= 1 }
        return s[0..<hi]
    }

    /// `str.replace(old, new)`: every non-overlapping occurrence, scanning left to right.
    static func replace(_ s: [UInt32], _ old: String, _ new: String) -> [UInt32] {
        let o = scalars(old), n = scalars(new)
        guard !o.isEmpty, s.count >= o.count else { return s }
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + o.count <= s.count, s[i] == o[0], s[i..<(i + o.count)].elementsEqual(o) {
                out.append(contentsOf: n)
                i += o.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    static func contains(_ s: [UInt32], _ v: UInt32) -> Bool {
        s.contains(v)
    }
}

/// Maps distinct tokens (compared by code point, as Python does) to small integer ids so that
/// n-gram counting and LCS work on integers.
struct TokenInterner {
    private var ids: [[UInt32]: Int32] = [:]

    mutating func id(_ token: some Collection<UInt32>) -> Int32 {
        let key = Array(token)
        if let id = ids[key] { return id }
        let id = Int32(ids.count)
        ids[key] = id
        return id
    }

    mutating func ids(_ tokens: [[UInt32]]) -> [Int32] {
        tokens.map { id($0) }
    }
}

/// An n-gram of token ids or code points (order at most 16), usable as a dictionary key.
/// Unused lanes hold -1, which no id or code point takes, so different orders never collide.
struct NGramKey: Hashable {
    var lanes: SIMD16<Int32>

    @inline(__always)
    init(_ items: UnsafeBufferPointer<Int32>, from start: Int, order: Int) {
        var lanes = SIMD16<Int32>(repeating: -1)
        for k in 0..<order { lanes[k] = items[start + k] }
        self.lanes = lanes
    }
}

enum NGrams {
    static let maxOrder = 16

    /// Counts of every n-gram of exactly `order` items.
    static func counts(_ items: [Int32], order: Int) -> [NGramKey: Int] {
        var out: [NGramKey: Int] = [:]
        guard order >= 1, order <= maxOrder, items.count >= order else { return out }
        out.reserveCapacity(items.count - order + 1)
        items.withUnsafeBufferPointer { buf in
            for i in 0...(items.count - order) {
                out[NGramKey(buf, from: i, order: order), default: 0] += 1
            }
        }
        return out
    }

    /// Number of n-grams the two count tables share, each clipped to the smaller count.
    static func overlap(_ a: [NGramKey: Int], _ b: [NGramKey: Int]) -> Int {
        var total = 0
        for (key, count) in a {
            if let other = b[key] { total += min(count, other) }
        }
        return total
    }
}
