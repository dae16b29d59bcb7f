/// The Porter stemmer exactly as NLTK's `PorterStemmer()` stems in its default mode,
/// `NLTK_EXTENSIONS` — the stemmer rouge-score 0.1.2 builds (`porter.PorterStemmer()`, no mode
/// argument) when `use_stemmer=True`.
///
/// NLTK_EXTENSIONS differs from Porter's 1980 paper (ORIGINAL_ALGORITHM) in ways that change ROUGE
/// scores, so each is kept: a table of irregular forms ("dying" → "die", "innings" → "inning");
/// words of one or two letters are returned as they are; "ies"/"ied" on four-letter words keep
/// "ie" ("dies" → "die"); "y" → "i" only after a consonant that is not the whole stem ("enjoy"
/// stays, "happy" → "happi"); "bli" → "ble" instead of "abli" → "able"; "alli" → "al" is tried
/// first and the result goes through step 2 again; "fulli" → "ful" and "logi" → "log" (with the
/// "l" counted in the stem's measure); and a two-letter vowel-consonant stem counts as *o.
///
/// Words are handled as Unicode code points and lowercased first, as NLTK does with `str.lower()`.
public struct PorterStemmer: Sendable {
    public init() {}

    public func stem(_ word: String) -> String {
        let lowered = PythonText.scalars(word.lowercased())
        return PythonText.string(stem(codePoints: lowered, originalLength: word.unicodeScalars.count))
    }

    func stem(codePoints word: [UInt32], originalLength: Int) -> [UInt32] {
        if let irregular = Self.irregularForms[word] { return irregular }
        if originalLength <= 2 { return word }
        var w = step1a(word)
        w = step1b(w)
        w = step1c(w)
        w = step2(w)
        w = step3(w)
        w = step4(w)
        w = step5a(w)
        w = step5b(w)
        return w
    }

    // MARK: letters and measure

    private static let a = UInt32(UInt8(ascii: "a")), e = UInt32(UInt8(ascii: "e")), i = UInt32(UInt8(ascii: "i"))
    private static let o = UInt32(UInt8(ascii: "o")), u = UInt32(UInt8(ascii: "u")), y = UInt32(UInt8(ascii: "y"))

    @inline(__always)
    private static func isVowelLetter(_ c: UInt32) -> Bool {
        c == a || c == e || c == i || c == o || c == u
    }

    /// A consonant is a letter other than a, e, i, o, u, and other than a "y" preceded by a consonant.
    /// A run of "y"s alternates, so walk back over it instead of recursing.
    private static func isConsonant(_ w: ArraySlice<UInt32>, _ index: Int) -> Bool {
        var k = w.startIndex + index
        let c = w[k]
        if isVowelLetter(c) { return false }
        guard c == y else { return true }
        var negate = false
        while k > w.startIndex, w[k] == y {
            negate.toggle()
            k -= 1
        }
        return !isVowelLetter(w[k]) != negate
    }

    /// m in [C](VC){m}[V]: the number of vowel-to-consonant transitions.
    private static func measure(_ w: ArraySlice<UInt32>) -> Int {
        var m = 0
        var previousVowel = false
        var previousConsonant = false
        for k in w.indices {
            let c = w[k]
            let consonant: Bool
            if isVowelLetter(c) {
                consonant = false
            } else if c == y {
                consonant = k == w.startIndex ? true : !previousConsonant
            } else {
                consonant = true
            }
            if consonant && previousVowel { m += 1 }
            previousVowel = !consonant
            previousConsonant = consonant
        }
        return m
    }

    private static func containsVowel(_ w: ArraySlice<UInt32>) -> Bool {
        w.indices.contains { !isConsonant(w, $0 - w.startIndex) }
    }

    private static func endsDoubleConsonant(_ w: ArraySlice<UInt32>) -> Bool {
        w.count >= 2 && w[w.endIndex - 1] == w[w.endIndex - 2] && isConsonant(w, w.count - 1)
    }

    /// *o: the stem ends consonant-vowel-consonant, the last not w, x or y; NLTK also accepts a
    /// whole stem of one vowel and one consonant.
    private static func endsCVC(_ w: ArraySlice<UInt32>) -> Bool {
        let n = w.count
        if n >= 3, isConsonant(w, n - 3), !isConsonant(w, n - 2), isConsonant(w, n - 1) {
            let last = w[w.endIndex - 1]
            if last != UInt32(UInt8(ascii: "w")) && last != UInt32(UInt8(ascii: "x")) && last != y { return true }
        }
        return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1)
    }

    // MARK: rules

    private struct Rule {
        let suffix: [UInt32]
        let replacement: [UInt32]
        /// Receives the word and the length of its stem (the word without the suffix);
        /// nil means unconditional.
        let condition: (@Sendable ([UInt32], Int) -> Bool)?

        init(_ suffix: String, _ replacement: String, _ condition: (@Sendable ([UInt32], Int) -> Bool)?) {
            self.suffix = PythonText.scalars(suffix)
            self.replacement = PythonText.scalars(replacement)
            self.condition = condition
        }
    }

    private static func endsWith(_ w: [UInt32], _ suffix: [UInt32]) -> Bool {
        w.count >= suffix.count && w[(w.count - suffix.count)...].elementsEqual(suffix)
    }

    /// The first rule whose suffix matches decides: its replacement if the condition holds,
    /// otherwise the word unchanged (later rules are not tried).
    private static func apply(_ rules: [Rule], to w: [UInt32]) -> [UInt32] {
        for rule in rules where endsWith(w, rule.suffix) {
            let stemLength = w.count - rule.suffix.count
            if rule.condition?(w, stemLength) ?? true { return Array(w[0..<stemLength]) + rule.replacement }
            return w
        }
        return w
    }

    private static let positiveMeasure: @Sendable ([UInt32], Int) -> Bool = { w, n in measure(w[0..<n]) > 0 }
    private static let measureAboveOne: @Sendable ([UInt32], Int) -> Bool = { w, n in measure(w[0..<n]) > 1 }

    private static func s(_ text: String) -> [UInt32] { PythonText.scalars(text) }

    private static let irregularForms: [[UInt32]: [UInt32]] = {
        let forms: [(String, [String])] = [
            ("sky", ["sky", "skies"]), ("die", ["dying"]), ("lie", ["lying"]), ("tie", ["tying"]),
            ("news", ["news"]), ("inning", ["innings", "inning"]), ("outing", ["outings", "outing"]),
            ("canning", ["cannings", "canning"]), ("howe", ["howe"]), ("proceed", ["proceed"]),
            ("exceed", ["exceed"]), ("succeed", ["succeed"]),
        ]
        var table: [[UInt32]: [UInt32]] = [:]
        for (stem, words) in forms {
            for word in words { table[s(word)] = s(stem) }
        }
        return table
    }()

    private static let step1aRules = [
        Rule("sses", "ss", nil), Rule("ies", "i", nil), Rule("ss", "ss", nil), Rule("s", "", nil),
    ]

    private func step1a(_ w: [UInt32]) -> [UInt32] {
        if w.count == 4, Self.endsWith(w, Self.s("ies")) { return Array(w[0..<1]) + Self.s("ie") }
        return Self.apply(Self.step1aRules, to: w)
    }

    private func step1b(_ w: [UInt32]) -> [UInt32] {
        if Self.endsWith(w, Self.s("ied")) {
            return Array(w[0..<(w.count - 3)]) + (w.count == 4 ? Self.s("ie") : Self.s("i"))
        }
        if Self.endsWith(w, Self.s("eed")) {
            let stem = w[0..<(w.count - 3)]
            return Self.measure(stem) > 0 ? Array(stem) + Self.s("ee") : w
        }
        var intermediate: [UInt32]?
        for suffix in [Self.s("ed"), Self.s("ing")] where Self.endsWith(w, suffix) {
            let stem = w[0..<(w.count - suffix.count)]
            if Self.containsVowel(stem) {
                intermediate = Array(stem)
                break
            }
        }
        guard let stem = intermediate else { return w }
        for (suffix, replacement) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] where Self.endsWith(stem, Self.s(suffix)) {
            return Array(stem.dropLast(suffix.count)) + Self.s(replacement)
        }
        if Self.endsDoubleConsonant(stem[...]) {
            let last = stem[stem.count - 1]
            let keepsDouble = last == UInt32(UInt8(ascii: "l")) || last == UInt32(UInt8(ascii: "s"))
                || last == UInt32(UInt8(ascii: "z"))
            return keepsDouble ? stem : Array(stem.dropLast(1))
        }
        if Self.measure(stem[...]) == 1 && Self.endsCVC(stem[...]) { return stem + Self.s("e") }
        return stem
    }

    private func step1c(_ w: [UInt32]) -> [UInt32] {
        guard w.last == Self.y else { return w }
        let stem = w[0..<(w.count - 1)]
        if stem.count > 1 && Self.isConsonant(stem, stem.count - 1) { return Array(stem) + [Self.i] }
        return w
    }

    private static let step2Rules: [Rule] = [
        Rule("ational", "ate", positiveMeasure), Rule("tional", "tion", positiveMeasure),
        Rule("enci", "ence", positiveMeasure), Rule("anci", "ance", positiveMeasure),
        Rule("izer", "ize", positiveMeasure), Rule("bli", "ble", positiveMeasure),
        Rule("alli", "al", positiveMeasure), Rule("entli", "ent", positiveMeasure),
        Rule("eli", "e", positiveMeasure), Rule("ousli", "ous", positiveMeasure),
        Rule("ization", "ize", positiveMeasure), Rule("ation", "ate", positiveMeasure),
        Rule("ator", "ate", positiveMeasure), Rule("alism", "al", positiveMeasure),
        Rule("iveness", "ive", positiveMeasure), Rule("fulness", "ful", positiveMeasure),
        Rule("ousness", "ous", positiveMeasure), Rule("aliti", "al", positiveMeasure),
        Rule("iviti", "ive", positiveMeasure), Rule("biliti", "ble", positiveMeasure),
        Rule("fulli", "ful", positiveMeasure),
        // The "l" of "logi" stays with the stem when measuring, so "geologi" -> "geolog".
        Rule("logi", "log", { w, n in measure(w[0..<(n + 1)]) > 0 }),
    ]

    private func step2(_ w: [UInt32]) -> [UInt32] {
        if Self.endsWith(w, Self.s("alli")), Self.measure(w[0..<(w.count - 4)]) > 0 {
            return step2(Array(w[0..<(w.count - 4)]) + Self.s("al"))
        }
        return Self.apply(Self.step2Rules, to: w)
    }

    private static let step3Rules: [Rule] = [
        Rule("icate", "ic", positiveMeasure), Rule("ative", "", positiveMeasure),
        Rule("alize", "al", positiveMeasure), Rule("iciti", "ic", positiveMeasure),
        Rule("ical", "ic", positiveMeasure), Rule("ful", "", positiveMeasure), Rule("ness", "", positiveMeasure),
    ]

    private func step3(_ w: [UInt32]) -> [UInt32] { Self.apply(Self.step3Rules, to: w) }

    private static let step4Rules: [Rule] = [
        Rule("al", "", measureAboveOne), Rule("ance", "", measureAboveOne), Rule("ence", "", measureAboveOne),
        Rule("er", "", measureAboveOne), Rule("ic", "", measureAboveOne), Rule("able", "", measureAboveOne),
        Rule("ible", "", measureAboveOne), Rule("ant", "", measureAboveOne), Rule("ement", "", measureAboveOne),
        Rule("ment", "", measureAboveOne), Rule("ent", "", measureAboveOne),
        Rule("ion", "", { w, n in
            guard n > 0, measure(w[0..<n]) > 1 else { return false }
            let last = w[n - 1]
            return last == UInt32(UInt8(ascii: "s")) || last == UInt32(UInt8(ascii: "t"))
        }),
        Rule("ou", "", measureAboveOne), Rule("ism", "", measureAboveOne), Rule("ate", "", measureAboveOne),
        Rule("iti", "", measureAboveOne), Rule("ous", "", measureAboveOne), Rule("ive", "", measureAboveOne),
        Rule("ize", "", measureAboveOne),
    ]

    private func step4(_ w: [UInt32]) -> [UInt32] { Self.apply(Self.step4Rules, to: w) }

    /// Both "e" rules are tried here (unlike the first-match rule lists).
    private func step5a(_ w: [UInt32]) -> [UInt32] {
        guard w.last == Self.e else { return w }
        let stem = w[0..<(w.count - 1)]
        let m = Self.measure(stem)
        if m > 1 || (m == 1 && !Self.endsCVC(stem)) { return Array(stem) }
        return w
    }

    private func step5b(_ w: [UInt32]) -> [UInt32] {
        guard Self.endsWith(w, Self.s("ll")) else { return w }
        return Self.measure(w[0..<(w.count - 1)]) > 1 ? Array(w[0..<(w.count - 1)]) : w
    }
}
