import Foundation

/// A value inside the Jinja renderer, with Python's semantics where chat templates rely on them
/// (truthiness, equality, `str()`, `repr()`, `json.dumps`).
///
/// Strings are compared, measured, sliced and searched by Unicode scalar (Python's code points),
/// not by Swift's grapheme clusters. Tuples are arrays. Namespaces live in the renderer and are
/// referred to by number, so a value stays a plain `Sendable` value.
public enum JinjaValue: Sendable, Equatable {
    /// jinja2's default `Undefined`: prints as nothing, is false, `is defined` is false. The name
    /// (or the description of the lookup that failed) is kept for error messages.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    /// A Python tuple: `(a, b)`, `a, b`, the pairs of `items()`; like a list except that it prints
    /// as `(a, b)` and is never equal to one.
    case tuple([JinjaValue])
    case object(JinjaObject)
    /// A built-in callable (`raise_exception`, `strftime_now`, `namespace`, `range`, `dict`).
    case function(String)
    /// A `namespace()` object, by its number in the renderer.
    case namespace(Int)
    /// A macro, by its number in the renderer.
    case macro(Int)
    /// What jinja2's `select`, `reject`, `selectattr`, `rejectattr`, `map`, `unique`, `reverse` and
    /// `items` filters return: a generator. It can be iterated (`for`, `list`, `join`, `first`, …)
    /// and is always true, but has no length, no items by index and no JSON form; printing it
    /// (jinja2 prints its memory address) is refused.
    case iterator([JinjaValue])

    public static func == (a: JinjaValue, b: JinjaValue) -> Bool { a.pythonEquals(b) }

    public var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Python's truthiness.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a), .tuple(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        case .function, .namespace, .macro, .iterator: return true
        }
    }

    /// Python's `==` (1 == 1.0 == True; dicts compare by content, not order; two Undefineds are equal).
    func pythonEquals(_ other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pythonEquals($1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for key in a.keys {
                guard let bv = b[key], let av = a[key], av.pythonEquals(bv) else { return false }
            }
            return true
        case (.function(let a), .function(let b)): return a == b
        case (.namespace(let a), .namespace(let b)): return a == b
        case (.macro(let a), .macro(let b)): return a == b
        default:
            if let x = numeric, let y = other.numeric {
                switch (x, y) {
                case (.int(let i), .int(let j)): return i == j
                default: return x.doubleValue == y.doubleValue
                }
            }
            return false
        }
    }

    /// Booleans count as the integers 0 and 1, as in Python.
    var numeric: JinjaValue? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int, .double: return self
        default: return nil
        }
    }

    var doubleValue: Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return .nan
        }
    }

    /// The name Python would give the value's type, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .tuple: return "tuple"
        case .object: return "dict"
        case .function: return "function"
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .iterator: return "generator"
        }
    }

    // MARK: Python's str() and repr()

    /// Python's `str()`, which is what `{{ value }}` prints (Undefined prints as nothing).
    public var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return pythonRepr
        }
    }

    /// Python's `repr()`.
    public var pythonRepr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return JinjaValue.pythonFloatRepr(d)
        case .string(let s): return JinjaValue.pythonStringRepr(s)
        case .array(let a): return "[" + a.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .tuple(let a): return "(" + a.map(\.pythonRepr).joined(separator: ", ") + (a.count == 1 ? ",)" : ")")
        case .object(let o):
            return "{" + o.keys.map { JinjaValue.pythonStringRepr($0) + ": " + (o[$0] ?? JinjaValue.none).pythonRepr }.joined(separator: ", ") + "}"
        case .function(let name): return "<built-in function \(name)>"
        case .namespace: return "<Namespace>"
        case .macro: return "<Macro>"
        case .iterator: return "<generator object>"
        }
    }

    static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote { out += "\\" + String(quote); continue }
                let v = scalar.value
                if v < 0x20 || v == 0x7f || (v >= 0x80 && v < 0xa0) {
                    out += "\\x" + hex(v, width: 2)
                } else if !isPrintable(scalar) {
                    out += v <= 0xff ? "\\x" + hex(v, width: 2) : v <= 0xffff ? "\\u" + hex(v, width: 4) : "\\U" + hex(v, width: 8)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }

    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default: return true
        }
    }

    private static func hex(_ v: UInt32, width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }

    /// Python's `repr(float)`: the shortest digits that round-trip, in positional notation for
    /// decimal exponents -4 ..< 16 and scientific (`1e-05`, `1e+16`) otherwise.
    static func pythonFloatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description also gives the shortest round-tripping digits; take them apart.
        var text = String(describing: abs(d))
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        var digits = text
        var pointAt = digits.count
        if let dot = digits.firstIndex(of: ".") {
            pointAt = digits.distance(from: digits.startIndex, to: dot)
            digits.remove(at: dot)
        }
        // Strip leading zeros (keeping track of the point) and trailing zeros.
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); pointAt -= 1 }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let decimalExponent = pointAt - 1 + exponent // exponent of the first digit
        let sign = d < 0 ? "-" : ""
        if decimalExponent < -4 || decimalExponent >= 16 {
            var mantissa = String(digits.first ?? "0")
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            let e = abs(decimalExponent)
            return sign + mantissa + "e" + (decimalExponent < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
        }
        if decimalExponent < 0 {
            return sign + "0." + String(repeating: "0", count: -decimalExponent - 1) + digits
        }
        let intCount = decimalExponent + 1
        if digits.count <= intCount {
            return sign + digits + String(repeating: "0", count: intCount - digits.count) + ".0"
        }
        let i = digits.index(digits.startIndex, offsetBy: intCount)
        return sign + digits[..<i] + "." + digits[i...]
    }
}

/// A dictionary that keeps insertion order, as Python's does (and `tojson` shows).
public struct JinjaObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    public init() {}
    public init(_ pairs: [(String, JinjaValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var pairs: [(String, JinjaValue)] { keys.map { ($0, storage[$0] ?? JinjaValue.none) } }

    public static func == (a: JinjaObject, b: JinjaObject) -> Bool { JinjaValue.object(a).pythonEquals(.object(b)) }
}

extension JinjaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JinjaValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JinjaValue)...) { self = .object(JinjaObject(elements)) }
}

// MARK: JSON in and out

extension JinjaValue {
    /// Parses JSON keeping the order of object keys and the difference between `1` and `1.0`
    /// (Python's `json.loads` does both; Foundation's parser does neither).
    public static func parseJSON(_ text: String) throws -> JinjaValue {
        var parser = JSONReader(scalars: Array(text.unicodeScalars))
        parser.skipSpace()
        let value = try parser.value()
        parser.skipSpace()
        guard parser.atEnd else { throw JinjaError.json("unexpected text after the JSON value at offset \(parser.pos)") }
        return value
    }

    /// Python's `json.dumps(value, ensure_ascii=False, indent=indent)` as Hugging Face's `tojson`
    /// filter calls it: separators `", "` / `": "` without indent, `","` / `": "` with one.
    func json(indent: String?, asciiOnly: Bool = false, line: Int) throws -> String {
        var out = ""
        try writeJSON(into: &out, indent: indent, asciiOnly: asciiOnly, level: 0, line: line)
        return out
    }

    private func writeJSON(into out: inout String, indent: String?, asciiOnly: Bool, level: Int, line: Int) throws {
        switch self {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += JinjaValue.pythonFloatRepr(d) }
        case .string(let s): JinjaValue.writeJSONString(s, asciiOnly: asciiOnly, into: &out)
        case .array(let a), .tuple(let a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                try v.writeJSON(into: &out, indent: indent, asciiOnly: asciiOnly, level: level + 1, line: line)
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += "]"
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (k, v)) in o.pairs.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                JinjaValue.writeJSONString(k, asciiOnly: asciiOnly, into: &out)
                out += ": "
                try v.writeJSON(into: &out, indent: indent, asciiOnly: asciiOnly, level: level + 1, line: line)
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += "}"
        case .undefined, .function, .namespace, .macro, .iterator:
            throw JinjaError.type(message: "Object of type \(typeName) is not JSON serializable (tojson)", line: line)
        }
    }

    static func writeJSONString(_ s: String, asciiOnly: Bool = false, into out: inout String) {
        func escape(_ v: UInt32) {
            let h = String(v, radix: 16)
            out += "\\u" + String(repeating: "0", count: max(0, 4 - h.count)) + h
        }
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7e) {
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        escape(0xD800 + (v >> 10))
                        escape(0xDC00 + (v & 0x3FF))
                    } else {
                        escape(scalar.value)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

private struct JSONReader {
    let scalars: [Unicode.Scalar]
    var pos = 0
    var atEnd: Bool { pos >= scalars.count }

    mutating func skipSpace() {
        while pos < scalars.count, [" ", "\n", "\r", "\t"].contains(scalars[pos]) { pos += 1 }
    }

    mutating func fail(_ what: String) -> JinjaError { .json("\(what) at offset \(pos)") }

    mutating func value() throws -> JinjaValue {
        guard pos < scalars.count else { throw fail("unexpected end of JSON") }
        switch scalars[pos] {
        case "{":
            pos += 1
            var object = JinjaObject()
            skipSpace()
            if pos < scalars.count, scalars[pos] == "}" { pos += 1; return .object(object) }
            while true {
                skipSpace()
                guard pos < scalars.count, scalars[pos] == "\"" else { throw fail("expected a string key") }
                let key = try string()
                skipSpace()
                guard pos < scalars.count, scalars[pos] == ":" else { throw fail("expected ':'") }
                pos += 1
                skipSpace()
                object[key] = try value()
                skipSpace()
                guard pos < scalars.count else { throw fail("unterminated object") }
                if scalars[pos] == "," { pos += 1; continue }
                if scalars[pos] == "}" { pos += 1; return .object(object) }
                throw fail("expected ',' or '}'")
            }
        case "[":
            pos += 1
            var items: [JinjaValue] = []
            skipSpace()
            if pos < scalars.count, scalars[pos] == "]" { pos += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value())
                skipSpace()
                guard pos < scalars.count else { throw fail("unterminated array") }
                if scalars[pos] == "," { pos += 1; continue }
                if scalars[pos] == "]" { pos += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case "\"": return .string(try string())
        case "t": try literal("true"); return .bool(true)
        case "f": try literal("false"); return .bool(false)
        case "n": try literal("null"); return .none
        default: return try number()
        }
    }

    mutating func literal(_ word: String) throws {
        for scalar in word.unicodeScalars {
            guard pos < scalars.count, scalars[pos] == scalar else { throw fail("invalid literal") }
            pos += 1
        }
    }

    mutating func number() throws -> JinjaValue {
        let start = pos
        var isFloat = false
        while pos < scalars.count {
            let c = scalars[pos]
            if ("0"..."9").contains(c) || c == "-" || c == "+" { pos += 1 } else if c == "." || c == "e" || c == "E" { isFloat = true; pos += 1 } else { break }
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[start..<pos])
        if !isFloat, let i = Int(text) { return .int(i) }
        guard !text.isEmpty, let d = Double(text) else { throw fail("invalid number") }
        return .double(d)
    }

    mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= scalars.count else { throw fail("short \\u escape") }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[pos..<pos + 4])
        guard let v = UInt32(text, radix: 16) else { throw fail("invalid \\u escape") }
        pos += 4
        return v
    }

    mutating func string() throws -> String {
        pos += 1
        var out = String.UnicodeScalarView()
        while pos < scalars.count {
            let c = scalars[pos]
            pos += 1
            if c == "\"" { return String(out) }
            if c != "\\" { out.append(c); continue }
            guard pos < scalars.count else { break }
            let e = scalars[pos]
            pos += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "u":
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), pos + 1 < scalars.count, scalars[pos] == "\\", scalars[pos + 1] == "u" {
                    pos += 2
                    let low = try hex4()
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let s = Unicode.Scalar(v) else { throw fail("invalid code point") }
                out.append(s)
            default: out.append(e)
            }
        }
        throw fail("unterminated string")
    }
}
