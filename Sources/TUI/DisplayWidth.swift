/// How many terminal columns a character takes.
///
/// Follows what wcwidth-based terminals and ncurses do, because the buffer must agree with the
/// terminal about where every column is: a grapheme is as wide as its first scalar; combining
/// marks, format characters and variation selectors add nothing (so "❤️" counts 1, as the base
/// U+2764 does, while emoji whose default presentation is graphic, like "😀", count 2).
public enum DisplayWidth {
    /// East Asian Wide and Fullwidth blocks (Unicode 15, EastAsianWidth.txt W/F), merged into
    /// ranges; emoji with default emoji presentation are recognised from scalar properties.
    static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F,   // Hangul Jamo initial consonants
        0x2329...0x232A,   // angle brackets
        0x2E80...0x303E,   // CJK radicals, Kangxi, ideographic description, CJK symbols and punctuation
        0x3041...0x33FF,   // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun, CJK compatibility
        0x3400...0x4DBF,   // CJK extension A
        0x4E00...0x9FFF,   // CJK unified ideographs
        0xA000...0xA4CF,   // Yi
        0xA960...0xA97F,   // Hangul Jamo extended A
        0xAC00...0xD7A3,   // Hangul syllables
        0xF900...0xFAFF,   // CJK compatibility ideographs
        0xFE10...0xFE19,   // vertical forms
        0xFE30...0xFE6F,   // CJK compatibility forms, small form variants
        0xFF00...0xFF60,   // fullwidth forms
        0xFFE0...0xFFE6,   // fullwidth signs
        0x16FE0...0x16FE4, // ideographic symbols
        0x17000...0x18CFF, // Tangut, Khitan
        0x1AFF0...0x1B2FF, // Kana supplement and extensions, Nushu
        0x1F200...0x1F2FF, // enclosed ideographic supplement
        0x20000...0x2FFFD, // CJK extensions B–F, compatibility supplement
        0x30000...0x3FFFD, // CJK extensions G–H
    ]

    /// Zero-width scalars that are not marks by category: Hangul medial/final Jamo (they join the
    /// preceding initial), zero-width space.
    static let zeroRanges: [ClosedRange<UInt32>] = [
        0x1160...0x11FF,
        0xD7B0...0xD7FF,
        0x200B...0x200B,
    ]

    /// Columns taken by one scalar: 0, 1 or 2.
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v < 0x7F { return v >= 0x20 ? 1 : 0 }
        if v < 0xA0 { return 0 }                       // C1 controls
        if v < 0x300 { return 1 }                        // Latin-1 and extensions: all narrow
        if contains(zeroRanges, v) { return 0 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control, .surrogate: return 0
        default: break
        }
        if contains(wideRanges, v) { return 2 }
        if v >= 0x231A && scalar.properties.isEmojiPresentation { return 2 }
        return 1
    }

    /// Columns taken by one grapheme cluster: the width of its first scalar.
    public static func of(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        return of(first)
    }

    /// Columns taken by a string.
    public static func of(_ string: some StringProtocol) -> Int {
        var w = 0
        for c in string { w += of(c) }
        return w
    }

    private static func contains(_ ranges: [ClosedRange<UInt32>], _ v: UInt32) -> Bool {
        var lo = 0, hi = ranges.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if v < ranges[mid].lowerBound { hi = mid - 1 }
            else if v > ranges[mid].upperBound { lo = mid + 1 }
            else { return true }
        }
        return false
    }
}

/// Width-aware string helpers for fitting text into columns.
public enum TextLayout {
    /// The longest prefix of `text` that fits in `width` columns; adds "…" when it cut something.
    public static func truncate(_ text: String, to width: Int, ellipsis: Bool = true) -> String {
        guard width > 0 else { return "" }
        if DisplayWidth.of(text) <= width { return text }
        let budget = ellipsis ? width - 1 : width
        var out = ""
        var used = 0
        for c in text {
            let w = DisplayWidth.of(c)
            if used + w > budget { break }
            out.append(c); used += w
        }
        return ellipsis ? out + "…" : out
    }

    /// Pads with spaces (or truncates) to exactly `width` columns.
    public static func pad(_ text: String, to width: Int, alignRight: Bool = false) -> String {
        let t = truncate(text, to: width)
        let gap = String(repeating: " ", count: max(0, width - DisplayWidth.of(t)))
        return alignRight ? gap + t : t + gap
    }

    /// Word-wraps `text` into lines of at most `width` columns. Hard newlines are kept; words longer
    /// than a line are split.
    public static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var lineWidth = 0
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: false) {
                var word = String(word)
                var ww = DisplayWidth.of(word)
                let sep = line.isEmpty ? 0 : 1
                if lineWidth + sep + ww <= width {
                    if sep == 1 { line += " " }
                    line += word; lineWidth += sep + ww
                    continue
                }
                if !line.isEmpty { lines.append(line); line = ""; lineWidth = 0 }
                while ww > width {
                    let head = truncate(word, to: width, ellipsis: false)
                    lines.append(head)
                    word = String(word.dropFirst(head.count))
                    ww = DisplayWidth.of(word)
                }
                line = word; lineWidth = ww
            }
            lines.append(line)
        }
        return lines
    }
}
