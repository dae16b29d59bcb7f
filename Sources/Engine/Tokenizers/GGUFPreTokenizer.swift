/// The pre-tokenizer a byte-level BPE GGUF names in `tokenizer.ggml.pre`, split as llama.cpp's
/// `unicode_regex_split` splits: a list of regexes applied one after another, each cutting every
/// piece the previous one left into its matches and the text between them (both kept).
///
/// The large GPT-2 / Llama 3 / Qwen2 regexes are `PreTokenizerPattern`'s hand-written matchers
/// (shared with `tokenizer.json`'s Split pre-tokenizers; llama.cpp hand-writes the same three).
/// The short ones llama.cpp runs through `std::regex` are the character-class runs in `Step`, with
/// llama.cpp's Unicode classes: `\p{N}` is 0-9 or a non-ASCII N* character, `\p{P}` ASCII
/// punctuation but the backtick, or a non-ASCII P* character; non-ASCII whitespace counts as `\s`.
public struct GGUFPreTokenizer: Sendable, Equatable {
    /// llama.cpp's `LLAMA_VOCAB_PRE_TYPE_*` this implementation covers.
    public enum Kind: String, Sendable, CaseIterable {
        case `default`, llama3, qwen2, smollm, gpt2, deepseekLLM
    }

    /// `tokenizer.ggml.pre` values accepted, and the kind llama.cpp (src/llama-vocab.cpp) maps each
    /// to. `ignoreMerges`: a pre-tokenized word that is itself a token is taken whole (llama.cpp
    /// sets it for the Llama 3 names).
    static let names: [String: (kind: Kind, ignoreMerges: Bool)] = [
        "default": (.default, false),
        "llama3": (.llama3, true), "llama-v3": (.llama3, true), "llama-bpe": (.llama3, true), "falcon3": (.llama3, true),
        "dbrx": (.llama3, false), "smaug-bpe": (.llama3, false),
        "qwen2": (.qwen2, false), "deepseek-r1-qwen": (.qwen2, false), "stablelm2": (.qwen2, false),
        "smollm": (.smollm, false), "starcoder": (.smollm, false), "refact": (.smollm, false), "codeshell": (.smollm, false),
        "gpt-2": (.gpt2, false), "phi-2": (.gpt2, false), "mpt": (.gpt2, false), "olmo": (.gpt2, false),
        "deepseek-llm": (.deepseekLLM, false),
    ]

    /// The accepted names, sorted, for error messages.
    public static var supportedNames: [String] { names.keys.sorted() }

    public let name: String
    public let kind: Kind
    public let ignoreMerges: Bool

    /// nil when llama.cpp's name is not one this implementation covers. A missing key is
    /// llama.cpp's `default`.
    public init?(name: String?) {
        let n = name ?? "default"
        guard let entry = Self.names[n] else { return nil }
        self.name = n
        kind = entry.kind
        ignoreMerges = entry.ignoreMerges
    }

    enum Step: Sendable {
        case pattern(PreTokenizerPattern)
        /// `[\p{P}\$\+<=>\^~\|]+`
        case punctuationRun
        /// `\p{N}`
        case singleNumber
        /// `\p{N}+`
        case numberRun
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriple
        /// `[\r\n]`
        case newline
        /// `\s?[class]+` over explicit code point ranges
        case spaceThenRun(ScalarRanges)
        /// `\s+$`
        case trailingSpaces
        /// `[class]+`
        case run(ScalarRanges)
    }

    var steps: [Step] {
        switch kind {
        case .default: return [.punctuationRun, .pattern(.gpt2), .numberRun, .asciiDigitTriple]
        case .llama3: return [.pattern(.llama3)]
        case .qwen2: return [.pattern(.qwen2)]
        case .smollm: return [.singleNumber, .pattern(.gpt2)]
        case .gpt2: return [.pattern(.gpt2)]
        case .deepseekLLM:
            return [.newline, .spaceThenRun(Self.deepseekLetters), .spaceThenRun(Self.deepseekPunctuation), .trailingSpaces,
                    .run(Self.deepseekCJK), .numberRun]
        }
    }

    // llama.cpp's deepseek-llm classes, verbatim.
    static let deepseekLetters = ScalarRanges("A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃")
    static let deepseekPunctuation = ScalarRanges("!-/:-~！-／：-～‘-‟　-。")
    static let deepseekCJK = ScalarRanges("一-龥ࠀ-一가-퟿")

    /// Splits `text` into the pieces BPE merges separately. Every scalar lands in exactly one piece.
    public func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        guard !text.isEmpty else { return [] }
        // std::regex sees non-ASCII whitespace as \v (llama.cpp substitutes it so `\s` matches).
        var pieces: [Range<Int>] = [0..<text.count]
        for step in steps {
            var next: [Range<Int>] = []
            next.reserveCapacity(pieces.count * 2)
            for piece in pieces {
                let slice = text[piece]
                switch step {
                case let .pattern(pattern):
                    // PreTokenizerPattern works on a whole array; give it the piece alone, as
                    // llama.cpp's custom splitters see only their piece.
                    var offset = piece.lowerBound
                    for part in pattern.split(Array(slice)) {
                        next.append(offset..<(offset + part.count))
                        offset += part.count
                    }
                default:
                    Self.splitByMatches(slice, into: &next) { k in Self.matchEnd(step, slice, at: k) }
                }
            }
            pieces = next
        }
        return pieces.map { text[$0] }
    }

    /// regex_iterator over one piece: each leftmost match and the gaps between matches.
    private static func splitByMatches(_ t: ArraySlice<Unicode.Scalar>, into out: inout [Range<Int>],
                                       match: (Int) -> Int?) {
        var gapStart = t.startIndex
        var k = t.startIndex
        while k < t.endIndex {
            if let end = match(k), end > k {
                if gapStart < k { out.append(gapStart..<k) }
                out.append(k..<end)
                k = end
                gapStart = end
            } else {
                k += 1
            }
        }
        if gapStart < t.endIndex { out.append(gapStart..<t.endIndex) }
    }

    private static func matchEnd(_ step: Step, _ t: ArraySlice<Unicode.Scalar>, at i: Int) -> Int? {
        let end = t.endIndex
        func run(_ k: Int, _ test: (Unicode.Scalar) -> Bool) -> Int {
            var j = k
            while j < end, test(t[j]) { j += 1 }
            return j
        }
        switch step {
        case .pattern:
            return nil
        case .punctuationRun:
            let j = run(i, isDefaultPunctuation)
            return j > i ? j : nil
        case .singleNumber:
            return isNumber(t[i]) ? i + 1 : nil
        case .numberRun:
            let j = run(i, isNumber)
            return j > i ? j : nil
        case .asciiDigitTriple:
            guard i + 3 <= end else { return nil }
            for k in i..<(i + 3) where !(t[k].value >= 0x30 && t[k].value <= 0x39) { return nil }
            return i + 3
        case .newline:
            return t[i] == "\r" || t[i] == "\n" ? i + 1 : nil
        case let .spaceThenRun(ranges):
            let test = { (s: Unicode.Scalar) in ranges.contains(regexScalar(s)) }
            if UnicodeClass.isWhitespace(t[i]), i + 1 < end, test(t[i + 1]) { return run(i + 1, test) }
            let j = run(i, test)
            return j > i ? j : nil
        case .trailingSpaces:
            let j = run(i, UnicodeClass.isWhitespace)
            return j > i && j == end ? j : nil
        case let .run(ranges):
            let j = run(i) { ranges.contains(regexScalar($0)) }
            return j > i ? j : nil
        }
    }

    /// What std::wregex compares: non-ASCII whitespace was replaced by U+000B.
    private static func regexScalar(_ s: Unicode.Scalar) -> Unicode.Scalar {
        s.value > 0x7F && UnicodeClass.isWhitespace(s) ? "\u{0B}" : s
    }

    /// `\p{N}` in llama.cpp's collapsed regexes: ASCII digits, or a non-ASCII number.
    private static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value >= 0x30 && s.value <= 0x39 }
        return !UnicodeClass.isWhitespace(s) && UnicodeClass.isNumber(s)
    }

    /// `[\p{P}\$\+<=>\^~\|]` in llama.cpp's collapsed form.
    private static func isDefaultPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            switch v {
            case 0x21...0x23, 0x25...0x2A, 0x2C...0x2F, 0x3A...0x3B, 0x3F...0x40, 0x5B...0x5D, 0x5F, 0x7B, 0x7D: return true
            case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true
            default: return false
            }
        }
        if UnicodeClass.isWhitespace(s) { return false }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }
}

/// A regex character class of literal code points and `a-b` ranges (no escapes), as written in
/// llama.cpp's pre-tokenizer sources.
struct ScalarRanges: Sendable, Equatable {
    let ranges: [ClosedRange<UInt32>]

    init(_ source: String) {
        let s = Array(source.unicodeScalars)
        var out: [ClosedRange<UInt32>] = []
        var i = 0
        while i < s.count {
            if i + 2 < s.count, s[i + 1] == "-", s[i].value <= s[i + 2].value {
                out.append(s[i].value...s[i + 2].value)
                i += 3
            } else {
                out.append(s[i].value...s[i].value)
                i += 1
            }
        }
        ranges = out
    }

    func contains(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        for r in ranges where r.contains(v) { return true }
        return false
    }
}
