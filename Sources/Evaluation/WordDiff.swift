/// Word-level difference between two outputs, for side-by-side comparison.
///
/// Texts are split into words and the whitespace runs between them; the longest common
/// subsequence of those tokens is kept as `.same`, the rest is `.removed` (only in the first text)
/// or `.added` (only in the second). Concatenating the `.same` and `.removed` segments gives back
/// the first text exactly; `.same` and `.added` give back the second.
public enum WordDiff {
    public enum Kind: String, Sendable, Equatable {
        case same, removed, added
    }

    public struct Segment: Sendable, Equatable {
        public let kind: Kind
        public let text: String
        public init(_ kind: Kind, _ text: String) {
            self.kind = kind
            self.text = text
        }
    }

    /// Splits into alternating word and whitespace tokens (punctuation stays with its word).
    public static func tokens(_ text: String) -> [Substring] {
        var out: [Substring] = []
        var start = text.startIndex
        var inSpace: Bool?
        for i in text.indices {
            let space = text[i].isWhitespace
            if let current = inSpace, current != space {
                out.append(text[start..<i])
                start = i
            }
            inSpace = space
        }
        if start < text.endIndex { out.append(text[start...]) }
        return out
    }

    /// The segments turning `a` into `b`. Inputs longer than `limit` tokens on both sides fall back
    /// to a coarse diff (common prefix and suffix kept, the middle replaced) to bound the work.
    public static func diff(_ a: String, _ b: String, limit: Int = 4000) -> [Segment] {
        let x = tokens(a), y = tokens(b)
        // Trim the common prefix and suffix first: comparisons usually differ in the middle.
        var prefix = 0
        while prefix < x.count, prefix < y.count, x[prefix] == y[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < x.count - prefix, suffix < y.count - prefix, x[x.count - 1 - suffix] == y[y.count - 1 - suffix] { suffix += 1 }
        let xm = Array(x[prefix..<(x.count - suffix)]), ym = Array(y[prefix..<(y.count - suffix)])

        var segments: [Segment] = []
        func emit(_ kind: Kind, _ token: Substring) {
            if let last = segments.last, last.kind == kind {
                segments[segments.count - 1] = Segment(kind, last.text + token)
            } else {
                segments.append(Segment(kind, String(token)))
            }
        }
        x[0..<prefix].forEach { emit(.same, $0) }

        if xm.count * ym.count > limit * limit / 4 || xm.count > limit || ym.count > limit {
            xm.forEach { emit(.removed, $0) }
            ym.forEach { emit(.added, $0) }
        } else {
            // LCS lengths of suffixes: table[i][j] = LCS(xm[i...], ym[j...]).
            let n = xm.count, m = ym.count
            var table = [Int](repeating: 0, count: (n + 1) * (m + 1))
            if n > 0 && m > 0 {
                for i in stride(from: n - 1, through: 0, by: -1) {
                    for j in stride(from: m - 1, through: 0, by: -1) {
                        table[i * (m + 1) + j] = xm[i] == ym[j]
                            ? table[(i + 1) * (m + 1) + j + 1] + 1
                            : max(table[(i + 1) * (m + 1) + j], table[i * (m + 1) + j + 1])
                    }
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, xm[i] == ym[j] {
                    emit(.same, xm[i]); i += 1; j += 1
                } else if i < n, j == m || table[(i + 1) * (m + 1) + j] >= table[i * (m + 1) + j + 1] {
                    // On ties show the removal first, as diff tools do.
                    emit(.removed, xm[i]); i += 1
                } else {
                    emit(.added, ym[j]); j += 1
                }
            }
        }
        x[(x.count - suffix)...].forEach { emit(.same, $0) }
        return segments
    }

    /// Share of tokens the two texts have in common (1 for identical texts, 0 for disjoint ones).
    public static func similarity(_ a: String, _ b: String) -> Double {
        let segments = diff(a, b)
        let same = segments.filter { $0.kind == .same }.map { tokens($0.text).count }.reduce(0, +)
        let total = tokens(a).count + tokens(b).count
        return total == 0 ? 1 : 2 * Double(same) / Double(total)
    }
}
