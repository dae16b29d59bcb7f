/// sacreBLEU's tokenizers (2.x): `13a` (mteval-v13a, the WMT default), `zh` (one token per CJK
/// character, 13a-style for the rest) and `none`.
public enum BLEUTokenizer: String, Sendable, CaseIterable, Codable {
    case thirteenA = "13a"
    case zh
    case none

    /// The name sacreBLEU prints in signatures (`tok:13a`).
    public var signature: String { rawValue }

    /// The tokenized line, tokens separated by single spaces.
    public func tokenize(_ line: String) -> String {
        PythonText.string(tokenize(codePoints: PythonText.scalars(line)))
    }

    func tokenize(codePoints line: [UInt32]) -> [UInt32] {
        switch self {
        case .none:
            return line
        case .thirteenA:
            var s = PythonText.replace(line, "<skipped>", "")
            s = PythonText.replace(s, "-\n", "")
            s = PythonText.replace(s, "\n", " ")
            if s.contains(UInt32(UInt8(ascii: "&"))) {
                // One after another, as sacreBLEU does: "&amp;lt;" becomes "&lt;" and then "<".
                s = PythonText.replace(s, "&quot;", "\"")
                s = PythonText.replace(s, "&amp;", "&")
                s = PythonText.replace(s, "&lt;", "<")
                s = PythonText.replace(s, "&gt;", ">")
            }
            return Self.regexpTokenize([0x20] + s + [0x20])
        case .zh:
            var s: [UInt32] = []
            let stripped = PythonText.strip(line)
            s.reserveCapacity(stripped.count * 2)
            for c in stripped {
                if Self.isChineseCharacter(c) {
                    s.append(0x20); s.append(c); s.append(0x20)
                } else {
                    s.append(c)
                }
            }
            return Self.regexpTokenize(s)
        }
    }

    /// sacreBLEU's `TokenizerRegexp`, shared by 13a and zh. Its four substitutions are fixed-width
    /// two-character patterns at most, applied one after another with Python `re.sub`'s
    /// left-to-right, non-overlapping matching; then whitespace is collapsed with `str.split()`.
    static func regexpTokenize(_ line: [UInt32]) -> [UInt32] {
        @inline(__always) func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
        @inline(__always) func isPeriodOrComma(_ c: UInt32) -> Bool { c == 0x2E || c == 0x2C }
        let space: UInt32 = 0x20

        // 1. ASCII punctuation and symbols except ' , - . get spaces around them:
        //    [\{-\~\[-\` -\&\(-\+\:-\@\/]
        var a: [UInt32] = []
        a.reserveCapacity(line.count * 2)
        for c in line {
            switch c {
            case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F:
                a.append(space); a.append(c); a.append(space)
            default:
                a.append(c)
            }
        }
        // 2. Period and comma unless preceded by a digit: ([^0-9])([\.,]) -> "\1 \2 "
        var b: [UInt32] = []
        b.reserveCapacity(a.count + a.count / 2)
        var i = 0
        while i < a.count {
            if i + 1 < a.count, !isDigit(a[i]), isPeriodOrComma(a[i + 1]) {
                b.append(a[i]); b.append(space); b.append(a[i + 1]); b.append(space)
                i += 2
            } else {
                b.append(a[i])
                i += 1
            }
        }
        // 3. Period and comma unless followed by a digit: ([\.,])([^0-9]) -> " \1 \2"
        var c3: [UInt32] = []
        c3.reserveCapacity(b.count + b.count / 2)
        i = 0
        while i < b.count {
            if i + 1 < b.count, isPeriodOrComma(b[i]), !isDigit(b[i + 1]) {
                c3.append(space); c3.append(b[i]); c3.append(space); c3.append(b[i + 1])
                i += 2
            } else {
                c3.append(b[i])
                i += 1
            }
        }
        // 4. Dash after a digit: ([0-9])(-) -> "\1 \2 "
        var d: [UInt32] = []
        d.reserveCapacity(c3.count + c3.count / 2)
        i = 0
        while i < c3.count {
            if i + 1 < c3.count, isDigit(c3[i]), c3[i + 1] == 0x2D {
                d.append(c3[i]); d.append(space); d.append(0x2D); d.append(space)
                i += 2
            } else {
                d.append(c3[i])
                i += 1
            }
        }
        var out: [UInt32] = []
        out.reserveCapacity(d.count)
        for piece in PythonText.split(d) {
            if !out.isEmpty { out.append(space) }
            out.append(contentsOf: piece)
        }
        return out
    }

    /// The code points sacreBLEU's `zh` tokenizer treats as Chinese characters.
    ///
    /// These are the ranges its `_is_chinese_char` *actually* accepts, not the ones its table
    /// names: the table writes two ranges with five hex digits after `\u` (`'\u20000'`,
    /// `'\u2a6d6'`, `'\u2f800'`, `'\u2fa1d'`), which Python reads as a four-digit escape plus a
    /// digit, and compares as two-character strings. So U+2001…U+2A6D (general punctuation such
    /// as “ ” — …, arrows, symbols) count as Chinese and CJK Extension B does not. Overlapping
    /// ranges are merged here.
    static func isChineseCharacter(_ c: UInt32) -> Bool {
        switch c {
        case 0x2001...0x2A6D, 0x2E80...0x2FDF, 0x2FF0...0x303F, 0x3100...0x312F, 0x31A0...0x31EF,
             0x3200...0x4DB5, 0x4E00...0x9FBB, 0xF900...0xFA2D, 0xFA30...0xFA6A, 0xFA70...0xFAD9,
             0xFE10...0xFE1F, 0xFE30...0xFE4F, 0xFF00...0xFFEF:
            return true
        default:
            return false
        }
    }
}
