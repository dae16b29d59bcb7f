/// Exact match between a prediction and a reference, after an optional normalisation.
public struct ExactMatch: Sendable {
    public enum Normalization: String, Sendable, CaseIterable, Codable {
        /// The strings must be identical code point for code point.
        case none
        /// Leading and trailing whitespace is ignored.
        case trim
        /// SQuAD's `normalize_answer`: lowercase, drop ASCII punctuation, drop the words
        /// "a", "an", "the", collapse whitespace.
        case squad
    }

    public var normalization: Normalization

    public init(normalization: Normalization = .none) {
        self.normalization = normalization
    }

    /// 1 when the normalised strings are equal, else 0.
    public func score(prediction: String, reference: String) -> Double {
        normalize(prediction) == normalize(reference) ? 1 : 0
    }

    /// The normalised text, as code points (compared without Swift's canonical equivalence).
    public func normalize(_ text: String) -> [UInt32] {
        switch normalization {
        case .none:
            return PythonText.scalars(text)
        case .trim:
            return Array(PythonText.strip(PythonText.scalars(text)))
        case .squad:
            let lowered = PythonText.scalars(text.lowercased()).filter { !Self.isASCIIPunctuation($0) }
            return Self.collapseWhitespace(Self.removeArticles(lowered))
        }
    }

    private static func isASCIIPunctuation(_ c: UInt32) -> Bool {
        (0x21...0x2F).contains(c) || (0x3A...0x40).contains(c) || (0x5B...0x60).contains(c) || (0x7B...0x7E).contains(c)
    }

    /// Python's `\w` for one code point: letters, digits and numbers of any script, and "_".
    private static func isWordCharacter(_ c: UInt32) -> Bool {
        if c == 0x5F { return true }
        guard let scalar = Unicode.Scalar(c) else { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// `re.sub(r"\b(a|an|the)\b", " ", text)`: a word-character run that is exactly an article
    /// becomes a space (inside a longer run `\b` cannot match).
    private static func removeArticles(_ s: [UInt32]) -> [UInt32] {
        let articles: Set<[UInt32]> = [[0x61], [0x61, 0x6E], [0x74, 0x68, 0x65]]
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard isWordCharacter(s[i]) else {
                out.append(s[i])
                i += 1
                continue
            }
            var j = i
            while j < s.count, isWordCharacter(s[j]) { j += 1 }
            let run = Array(s[i..<j])
            if articles.contains(run) { out.append(0x20) } else { out.append(contentsOf: run) }
            i = j
        }
        return out
    }

    private static func collapseWhitespace(_ s: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        for piece in PythonText.split(s) {
            if !out.isEmpty { out.append(0x20) }
            out.append(contentsOf: piece)
        }
        return out
    }
}
