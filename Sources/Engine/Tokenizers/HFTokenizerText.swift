import Foundation

/// Unicode helpers shared by the `tokenizer.json` normalizers and pre-tokenizers. They follow the
/// Rust `tokenizers` crate: characters are Unicode scalars, classes are general categories.
enum UnicodeClass {
    @inline(__always)
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always)
    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `\s` of the regex engines `tokenizers` uses: the Unicode White_Space property.
    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

    /// Punctuation as BERT sees it: ASCII punctuation (which includes `$+<=>^`|~`) or a P* category.
    static func isBertPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// Control characters BERT's `clean_text` drops: categories Cc, Cf, Cs, Co, Cn except tab and newlines.
    static func isBertControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// CJK ideographs that BERT surrounds with spaces (the CJK Unified Ideographs blocks).
    static func isChineseCharacter(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}

/// The `normalizer` of a `tokenizer.json`.
indirect enum HFNormalizer: Sendable {
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case lowercase
    case stripAccents
    case nfc, nfd, nfkc, nfkd
    case prepend(String)
    case replace(pattern: String, content: String)
    case sequence([HFNormalizer])

    init(json: [String: Any], path: String) throws {
        let type = json["type"] as? String ?? ""
        switch type {
        case "BertNormalizer":
            let lower = json["lowercase"] as? Bool ?? true
            // `strip_accents: null` means "strip when lowercasing", as in BERT's uncased models.
            self = .bert(cleanText: json["clean_text"] as? Bool ?? true,
                         handleChineseChars: json["handle_chinese_chars"] as? Bool ?? true,
                         stripAccents: json["strip_accents"] as? Bool ?? lower, lowercase: lower)
        case "Lowercase": self = .lowercase
        case "StripAccents": self = .stripAccents
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Prepend":
            guard let p = json["prepend"] as? String else { throw HFTokenizerError.invalid(path: path, reason: "Prepend normalizer without 'prepend'") }
            self = .prepend(p)
        case "Replace":
            guard let pattern = (json["pattern"] as? [String: Any])?["String"] as? String, let content = json["content"] as? String else {
                throw HFTokenizerError.unsupported(path: path, what: "Replace normalizer with a regex pattern")
            }
            self = .replace(pattern: pattern, content: content)
        case "Sequence":
            let items = json["normalizers"] as? [[String: Any]] ?? []
            self = .sequence(try items.map { try HFNormalizer(json: $0, path: path) })
        default:
            throw HFTokenizerError.unsupported(path: path, what: "normalizer '\(type)'")
        }
    }

    func apply(_ text: String) -> String {
        switch self {
        case let .bert(cleanText, handleChinese, strip, lower):
            var scalars = String.UnicodeScalarView()
            for s in text.unicodeScalars {
                if cleanText {
                    if s.value == 0 || s.value == 0xFFFD || UnicodeClass.isBertControl(s) { continue }
                    if UnicodeClass.isWhitespace(s) { scalars.append(" "); continue }
                }
                if handleChinese, UnicodeClass.isChineseCharacter(s) {
                    scalars.append(" ")
                    scalars.append(s)
                    scalars.append(" ")
                    continue
                }
                scalars.append(s)
            }
            var out = String(scalars)
            if strip { out = HFNormalizer.stripAccents.apply(out) }
            if lower { out = HFNormalizer.lowercase.apply(out) }
            return out
        case .lowercase:
            // Per-scalar full lowercase mapping, as Rust's `char::to_lowercase` (no context rules).
            var out = ""
            out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
            for s in text.unicodeScalars { out.unicodeScalars.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
            return out
        case .stripAccents:
            var scalars = String.UnicodeScalarView()
            for s in text.decomposedStringWithCanonicalMapping.unicodeScalars where s.properties.generalCategory != .nonspacingMark {
                scalars.append(s)
            }
            return String(scalars)
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case let .prepend(p): return text.isEmpty ? text : p + text
        case let .replace(pattern, content): return text.replacingOccurrences(of: pattern, with: content)
        case let .sequence(items): return items.reduce(text) { $1.apply($0) }
        }
    }
}

/// Which hand-written regex a byte-level BPE pre-tokenizer splits with.
enum PreTokenizerPattern: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|…)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// As Llama 3 but single digits: `\p{N}` instead of `\p{N}{1,3}`.
    case qwen2

    static let gpt2Source = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
    static let llama3Source = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let qwen2Source = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

    init?(source: String) {
        switch source {
        case Self.gpt2Source: self = .gpt2
        case Self.llama3Source: self = .llama3
        case Self.qwen2Source: self = .qwen2
        default: return nil
        }
    }

    /// Splits `text` into the regex's matches (every scalar lands in exactly one piece).
    func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        var i = 0
        let n = text.count
        while i < n {
            let end = matchEnd(text, at: i)
            pieces.append(text[i..<end])
            i = end
        }
        return pieces
    }

    /// End of the leftmost alternative that matches at `i` (alternatives tried in order, as a
    /// backtracking regex engine does). Always > i.
    private func matchEnd(_ t: [Unicode.Scalar], at i: Int) -> Int {
        let n = t.count
        func letter(_ k: Int) -> Bool { k < n && UnicodeClass.isLetter(t[k]) }
        func number(_ k: Int) -> Bool { k < n && UnicodeClass.isNumber(t[k]) }
        func space(_ k: Int) -> Bool { k < n && UnicodeClass.isWhitespace(t[k]) }
        func newline(_ k: Int) -> Bool { k < n && (t[k] == "\r" || t[k] == "\n") }
        func other(_ k: Int) -> Bool { k < n && !UnicodeClass.isWhitespace(t[k]) && !UnicodeClass.isLetter(t[k]) && !UnicodeClass.isNumber(t[k]) }
        func run(_ k: Int, _ test: (Int) -> Bool) -> Int { var j = k; while test(j) { j += 1 }; return j }

        // Contractions.
        if t[i] == "'" {
            let caseless = self != .gpt2
            func at(_ k: Int, _ c: Character) -> Bool {
                guard k < n else { return false }
                let s = t[k]
                if caseless { return s.properties.lowercaseMapping == String(c) }
                return Character(s) == c
            }
            for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
                var ok = true
                for (o, c) in suffix.enumerated() where !at(i + 1 + o, c) { ok = false; break }
                if ok { return i + 1 + suffix.count }
            }
        }
        switch self {
        case .gpt2:
            let start = t[i] == " " ? i + 1 : i
            if letter(start) { return run(start, letter) }
            if number(start) { return run(start, number) }
            if other(start) { return run(start, other) }
        case .llama3, .qwen2:
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !newline(i) && !letter(i) && !number(i) && letter(i + 1) { return run(i + 1, letter) }
            if letter(i) { return run(i, letter) }
            if number(i) {
                if self == .qwen2 { return i + 1 }
                var j = i
                while j < i + 3 && number(j) { j += 1 }
                return j
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let start = t[i] == " " ? i + 1 : i
            if other(start) { return run(run(start, other), newline) }
            // \s*[\r\n]+ : ends just after the last newline inside the whitespace run.
            let spaceEnd = run(i, space)
            var lastNewline = -1
            for k in i..<spaceEnd where newline(k) { lastNewline = k }
            if lastNewline >= 0 { return lastNewline + 1 }
        }
        // \s+(?!\S) then \s+
        if space(i) {
            let spaceEnd = run(i, space)
            if spaceEnd == n { return spaceEnd }
            if spaceEnd - i >= 2 { return spaceEnd - 1 }
            return spaceEnd
        }
        return i + 1
    }
}

/// GPT-2's reversible map from bytes to printable Unicode scalars, used by byte-level BPE:
/// printable Latin-1 bytes map to themselves, the others to U+0100 onwards.
enum ByteLevelMap {
    static func byteToScalar() -> [Unicode.Scalar] {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                // 256 + at most 68 values: always a valid scalar.
                table[b] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }
}

/// The `pre_tokenizer` of a `tokenizer.json`.
indirect enum HFPreTokenizer: Sendable {
    case bert
    case whitespaceSplit
    /// `Whitespace`: `\w+|[^\w\s]+`.
    case whitespace
    case byteLevel(addPrefixSpace: Bool, pattern: PreTokenizerPattern?)
    case split(PreTokenizerPattern)
    case digits(individual: Bool)
    case sequence([HFPreTokenizer])

    init(json: [String: Any], path: String) throws {
        let type = json["type"] as? String ?? ""
        switch type {
        case "BertPreTokenizer": self = .bert
        case "WhitespaceSplit": self = .whitespaceSplit
        case "Whitespace": self = .whitespace
        case "ByteLevel":
            let useRegex = json["use_regex"] as? Bool ?? true
            self = .byteLevel(addPrefixSpace: json["add_prefix_space"] as? Bool ?? false, pattern: useRegex ? .gpt2 : nil)
        case "Split":
            let behavior = json["behavior"] as? String ?? ""
            guard let source = (json["pattern"] as? [String: Any])?["Regex"] as? String,
                  let pattern = PreTokenizerPattern(source: source), behavior == "Isolated",
                  json["invert"] as? Bool ?? false == false else {
                throw HFTokenizerError.unsupported(path: path, what: "Split pre-tokenizer other than the GPT-2 / Llama 3 / Qwen2 regexes (Isolated)")
            }
            self = .split(pattern)
        case "Digits": self = .digits(individual: json["individual_digits"] as? Bool ?? false)
        case "Sequence":
            let items = json["pretokenizers"] as? [[String: Any]] ?? []
            self = .sequence(try items.map { try HFPreTokenizer(json: $0, path: path) })
        default:
            throw HFTokenizerError.unsupported(path: path, what: "pre-tokenizer '\(type)'")
        }
    }

    /// Whether words must be mapped through `ByteLevelMap` before the model sees them.
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case let .sequence(items): return items.contains { $0.isByteLevel }
        default: return false
        }
    }

    func apply(_ words: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        for w in words { apply(w, into: &out) }
        return out
    }

    private func apply(_ w: [Unicode.Scalar], into out: inout [[Unicode.Scalar]]) {
        switch self {
        case .bert:
            var current: [Unicode.Scalar] = []
            for s in w {
                if UnicodeClass.isWhitespace(s) {
                    if !current.isEmpty { out.append(current); current = [] }
                } else if UnicodeClass.isBertPunctuation(s) {
                    if !current.isEmpty { out.append(current); current = [] }
                    out.append([s])
                } else {
                    current.append(s)
                }
            }
            if !current.isEmpty { out.append(current) }
        case .whitespaceSplit:
            var current: [Unicode.Scalar] = []
            for s in w {
                if UnicodeClass.isWhitespace(s) {
                    if !current.isEmpty { out.append(current); current = [] }
                } else { current.append(s) }
            }
            if !current.isEmpty { out.append(current) }
        case .whitespace:
            func isWord(_ s: Unicode.Scalar) -> Bool { UnicodeClass.isLetter(s) || UnicodeClass.isNumber(s) || s == "_" || s.properties.generalCategory == .nonspacingMark }
            var current: [Unicode.Scalar] = []
            var currentIsWord = false
            for s in w {
                if UnicodeClass.isWhitespace(s) {
                    if !current.isEmpty { out.append(current); current = [] }
                    continue
                }
                let word = isWord(s)
                if !current.isEmpty && word != currentIsWord { out.append(current); current = [] }
                currentIsWord = word
                current.append(s)
            }
            if !current.isEmpty { out.append(current) }
        case let .byteLevel(addPrefixSpace, pattern):
            var text = w
            if addPrefixSpace, let first = text.first, first != " " { text.insert(" ", at: 0) }
            if let pattern {
                for piece in pattern.split(text) { out.append(Array(piece)) }
            } else if !text.isEmpty {
                out.append(text)
            }
        case let .split(pattern):
            for piece in pattern.split(w) { out.append(Array(piece)) }
        case let .digits(individual):
            var current: [Unicode.Scalar] = []
            var inDigits = false
            for s in w {
                let digit = s.properties.numericType == .decimal
                if digit && individual {
                    if !current.isEmpty { out.append(current); current = [] }
                    out.append([s])
                    continue
                }
                if !current.isEmpty && digit != inDigits { out.append(current); current = [] }
                inDigits = digit
                current.append(s)
            }
            if !current.isEmpty { out.append(current) }
        case let .sequence(items):
            var words = [w]
            for p in items { words = p.apply(words) }
            out.append(contentsOf: words)
        }
    }
}
