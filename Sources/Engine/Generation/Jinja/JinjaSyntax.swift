// Lexer and parser of the Jinja subset. The whitespace rules are jinja2's with Hugging Face's
// settings: `trim_blocks` (the first newline after a block or comment tag goes), `lstrip_blocks`
// (spaces and tabs before a block or comment tag at the start of a line go), `-` on either side of
// a tag strips all whitespace on that side, `+` keeps it; a single trailing newline of the source
// goes (`keep_trailing_newline=False`) and line endings become `\n`.

// MARK: Tokens

enum Token: Equatable, Sendable {
    case name(String)
    case string(String)
    case int(Int)
    case double(Double)
    case op(String)
}

/// One piece of the source: literal text, `{{ … }}` or `{% … %}`, with the line it starts on.
enum Piece: Sendable {
    case text(String)
    case output([Token], line: Int)
    case block([Token], line: Int)
}

struct JinjaLexer {
    let s: [Unicode.Scalar]
    var pos = 0
    var line = 1
    var lineStarting = true
    var pieces: [Piece] = []

    init(_ source: String) {
        s = Array(JinjaLexer.normaliseNewlines(source).unicodeScalars)
    }

    /// Python's `"\n".join(source.splitlines())`: every line boundary becomes `\n` and one trailing
    /// boundary goes.
    static func normaliseNewlines(_ source: String) -> String {
        var out = String.UnicodeScalarView()
        let scalars = Array(source.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            switch c.value {
            case 0x0D:
                out.append("\n")
                if i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
            case 0x0A, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                out.append("\n")
            default:
                out.append(c)
            }
            i += 1
        }
        if out.last == "\n" { out.removeLast() }
        return String(out)
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    func starts(with text: String, at i: Int) -> Bool {
        var j = i
        for c in text.unicodeScalars {
            guard j < s.count, s[j] == c else { return false }
            j += 1
        }
        return true
    }

    mutating func tokenize() throws -> [Piece] {
        while pos < s.count {
            // Find the next tag opening.
            var j = pos
            var kind: Unicode.Scalar = " "
            while j + 1 < s.count {
                if s[j] == "{", s[j + 1] == "{" || s[j + 1] == "%" || s[j + 1] == "#" { kind = s[j + 1]; break }
                j += 1
            }
            if j + 1 >= s.count { emitText(Array(s[pos...])); pos = s.count; break }
            var text = Array(s[pos..<j])
            var k = j + 2
            var sign: Unicode.Scalar? = nil
            if k < s.count, s[k] == "-" || s[k] == "+" { sign = s[k]; k += 1 }
            if sign == "-" {
                while let last = text.last, JinjaLexer.isSpace(last) { text.removeLast() }
            } else if sign != "+" && kind != "{" {
                // lstrip_blocks: only spaces and tabs between the line start and the tag.
                let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                if lineStart > 0 || lineStarting {
                    if text[lineStart...].allSatisfy({ $0 == " " || $0 == "\t" }) { text.removeSubrange(lineStart...) }
                }
            }
            countLines(s[pos..<j])
            emitText(text)
            let tagLine = line
            if kind == "#" {
                try lexComment(from: k)
            } else {
                if kind == "%", starts(with: "raw", at: skipSpace(k)) {
                    throw JinjaError.unsupported(construct: "{% raw %}", line: tagLine)
                }
                let tokens = try lexTag(from: k, block: kind == "%", tagLine: tagLine)
                pieces.append(kind == "%" ? .block(tokens, line: tagLine) : .output(tokens, line: tagLine))
            }
        }
        return pieces
    }

    func skipSpace(_ i: Int) -> Int {
        var i = i
        while i < s.count, JinjaLexer.isSpace(s[i]) { i += 1 }
        return i
    }

    mutating func countLines<C: Collection>(_ c: C) where C.Element == Unicode.Scalar {
        line += c.reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
    }

    mutating func emitText(_ text: [Unicode.Scalar]) {
        guard !text.isEmpty else { return }
        var str = String.UnicodeScalarView()
        str.append(contentsOf: text)
        if case .text(let previous)? = pieces.last {
            pieces[pieces.count - 1] = .text(previous + String(str))
        } else {
            pieces.append(.text(String(str)))
        }
    }

    /// Consumes the tag end at `i` (`%}` / `}}` with an optional `-` or `+` before it) and the
    /// whitespace it eats, setting `lineStarting` as jinja2 does (whether the match ended in `\n`).
    mutating func finishTag(endAt i: Int, endLength: Int, sign: Unicode.Scalar?, trimNewline: Bool) {
        var p = i + endLength
        var consumedNewline = false
        if sign == "-" {
            while p < s.count, JinjaLexer.isSpace(s[p]) { consumedNewline = s[p] == "\n"; if s[p] == "\n" { line += 1 }; p += 1 }
        } else if sign == nil, trimNewline, p < s.count, s[p] == "\n" {
            line += 1
            p += 1
            consumedNewline = true
        }
        lineStarting = consumedNewline
        pos = p
    }

    mutating func lexComment(from start: Int) throws {
        var i = start
        let startLine = line
        while i + 1 < s.count {
            if s[i] == "#", s[i + 1] == "}" {
                var sign: Unicode.Scalar? = nil
                if i > start, s[i - 1] == "-" || s[i - 1] == "+" { sign = s[i - 1] }
                countLines(s[start..<i])
                finishTag(endAt: i, endLength: 2, sign: sign, trimNewline: true)
                return
            }
            i += 1
        }
        throw JinjaError.syntax(message: "a comment {# is never closed", line: startLine)
    }

    static let operators = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=",
                            "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", ";"]

    mutating func lexTag(from start: Int, block: Bool, tagLine: Int) throws -> [Token] {
        var tokens: [Token] = []
        var i = start
        var depth = 0
        let end = block ? "%}" : "}}"
        while true {
            while i < s.count, JinjaLexer.isSpace(s[i]) { if s[i] == "\n" { line += 1 }; i += 1 }
            guard i < s.count else {
                throw JinjaError.syntax(message: block ? "a block tag {% is never closed" : "an output tag {{ is never closed", line: tagLine)
            }
            if depth == 0 {
                if s[i] == "-" || (block && s[i] == "+"), starts(with: end, at: i + 1) {
                    finishTag(endAt: i + 1, endLength: 2, sign: s[i], trimNewline: block)
                    return tokens
                }
                if starts(with: end, at: i) {
                    finishTag(endAt: i, endLength: 2, sign: nil, trimNewline: block)
                    return tokens
                }
            }
            let c = s[i]
            if c == "_" || c.properties.isAlphabetic && c.isASCII {
                var j = i
                while j < s.count, s[j] == "_" || (s[j].isASCII && (s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]))) { j += 1 }
                tokens.append(.name(string(i..<j)))
                i = j
            } else if ("0"..."9").contains(c) {
                var j = i
                while j < s.count, ("0"..."9").contains(s[j]) || s[j] == "_" { j += 1 }
                var isFloat = false
                if j + 1 < s.count, s[j] == ".", ("0"..."9").contains(s[j + 1]) {
                    isFloat = true
                    j += 1
                    while j < s.count, ("0"..."9").contains(s[j]) || s[j] == "_" { j += 1 }
                }
                if j < s.count, s[j] == "e" || s[j] == "E" {
                    var e = j + 1
                    if e < s.count, s[e] == "+" || s[e] == "-" { e += 1 }
                    if e < s.count, ("0"..."9").contains(s[e]) {
                        isFloat = true
                        j = e
                        while j < s.count, ("0"..."9").contains(s[j]) { j += 1 }
                    }
                }
                let text = string(i..<j).replacingOccurrences(of: "_", with: "")
                if isFloat, let d = Double(text) { tokens.append(.double(d)) } else if let v = Int(text) { tokens.append(.int(v)) } else {
                    throw JinjaError.syntax(message: "invalid number \(text)", line: line)
                }
                i = j
            } else if c == "'" || c == "\"" {
                let (value, next) = try lexString(at: i)
                tokens.append(.string(value))
                i = next
            } else {
                guard let op = JinjaLexer.operators.first(where: { starts(with: $0, at: i) }) else {
                    throw JinjaError.syntax(message: "unexpected character '\(Character(c))'", line: line)
                }
                if op == "(" || op == "[" || op == "{" { depth += 1 }
                if op == ")" || op == "]" || op == "}" { depth -= 1 }
                tokens.append(.op(op))
                i += op.unicodeScalars.count
            }
        }
    }

    func string(_ r: Range<Int>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s[r])
        return String(v)
    }

    /// A string literal with Python's escapes (unknown escapes keep their backslash).
    mutating func lexString(at start: Int) throws -> (String, Int) {
        let quote = s[start]
        var i = start + 1
        var out = String.UnicodeScalarView()
        while i < s.count {
            let c = s[i]
            if c == quote { return (String(out), i + 1) }
            if c == "\n" { line += 1 }
            if c == "\\", i + 1 < s.count {
                let e = s[i + 1]
                i += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "0": out.append("\u{00}")
                case "\n": line += 1
                case "x", "u", "U":
                    let n = e == "x" ? 2 : e == "u" ? 4 : 8
                    guard i + n <= s.count, let v = UInt32(string(i..<i + n), radix: 16), let scalar = Unicode.Scalar(v) else {
                        throw JinjaError.syntax(message: "invalid \\\(e) escape in a string", line: line)
                    }
                    out.append(scalar)
                    i += n
                default:
                    out.append("\\")
                    out.append(e)
                }
                continue
            }
            out.append(c)
            i += 1
        }
        throw JinjaError.syntax(message: "a string literal is never closed", line: line)
    }
}

// MARK: Syntax tree

indirect enum Expr: Sendable {
    case literal(JinjaValue)
    case name(String)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case attribute(Expr, String)
    case item(Expr, Expr)
    case slice(Expr, Expr?, Expr?, Expr?)
    case call(Expr, [Expr], [(String, Expr)])
    case filter(Expr, String, [Expr], [(String, Expr)])
    case test(Expr, String, negated: Bool, [Expr])
    case negate(Expr)
    case plus(Expr)
    case not(Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case binary(String, Expr, Expr)
    case compare(Expr, [(String, Expr)])
    case conditional(test: Expr, then: Expr, otherwise: Expr?)
}

enum AssignTarget: Sendable {
    case name(String)
    case names([String])
    case attribute(String, String)
}

indirect enum Node: Sendable {
    case text(String)
    case output(Expr, line: Int)
    case conditional([(Expr, [Node])], otherwise: [Node]?, line: Int)
    case loop(targets: [String], iterable: Expr, condition: Expr?, body: [Node], otherwise: [Node]?, line: Int)
    case assign(AssignTarget, Expr, line: Int)
    case assignBlock(String, [Node], line: Int)
    case macro(name: String, parameters: [(String, Expr?)], body: [Node], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
    /// Hugging Face's `{% generation %}` marks assistant text; it renders its body.
    case generation([Node])
}

// MARK: Parser

/// Filters and tests the renderer implements; a template naming any other fails when parsed,
/// before anything is rendered.
enum JinjaBuiltins {
    static let filters: Set<String> = [
        "trim", "tojson", "length", "count", "upper", "lower", "title", "capitalize", "default", "d", "join",
        "first", "last", "list", "items", "selectattr", "rejectattr", "select", "reject", "map", "string",
        "replace", "abs", "int", "float", "reverse", "sort", "unique", "indent", "safe", "min", "max", "sum", "dictsort",
    ]
    static let tests: Set<String> = [
        "defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
        "boolean", "true", "false", "equalto", "eq", "==", "ne", "!=", "sameas", "lower", "upper", "odd", "even",
        "divisibleby", "in", "callable", "gt", ">", "lt", "<", "ge", ">=", "le", "<=", "greaterthan", "lessthan",
    ]
}

struct JinjaParser {
    private var pieces: [Piece]
    private var index = 0

    init(pieces: [Piece]) { self.pieces = pieces }

    mutating func parse() throws -> [Node] {
        let (nodes, end) = try parseBody(until: [])
        if let (name, line) = end { throw JinjaError.syntax(message: "unexpected {% \(name) %}", line: line) }
        return nodes
    }

    /// Parses nodes until a block tag whose first word is in `until`; returns that word, its line
    /// and leaves the rest of its tokens in `pendingTokens`.
    private var pendingTokens: [Token] = []

    private mutating func parseBody(until: Set<String>) throws -> ([Node], (String, Int)?) {
        var nodes: [Node] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case .text(let t): nodes.append(.text(t))
            case .output(let tokens, let line):
                var p = ExprParser(tokens: tokens, line: line)
                let e = try p.expression()
                try p.expectEnd()
                nodes.append(.output(e, line: line))
            case .block(let tokens, let line):
                guard case .name(let keyword)? = tokens.first else {
                    throw JinjaError.syntax(message: "a block tag must start with a statement name", line: line)
                }
                if until.contains(keyword) {
                    pendingTokens = Array(tokens.dropFirst())
                    return (nodes, (keyword, line))
                }
                nodes.append(try parseStatement(keyword, Array(tokens.dropFirst()), line: line))
            }
        }
        if !until.isEmpty {
            throw JinjaError.syntax(message: "the template ends inside a block; expected one of \(until.sorted().map { "{% \($0) %}" }.joined(separator: ", "))", line: lastLine)
        }
        return (nodes, nil)
    }

    private var lastLine: Int {
        for piece in pieces.reversed() {
            if case .block(_, let l) = piece { return l }
            if case .output(_, let l) = piece { return l }
        }
        return 1
    }

    private mutating func parseStatement(_ keyword: String, _ rest: [Token], line: Int) throws -> Node {
        var p = ExprParser(tokens: rest, line: line)
        switch keyword {
        case "if":
            var branches: [(Expr, [Node])] = []
            var condition = try p.expression()
            try p.expectEnd()
            var otherwise: [Node]? = nil
            while true {
                let (body, end) = try parseBody(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                guard let (word, endLine) = end else { break }
                if word == "elif" {
                    var q = ExprParser(tokens: pendingTokens, line: endLine)
                    condition = try q.expression()
                    try q.expectEnd()
                    continue
                }
                if word == "else" {
                    try ExprParser(tokens: pendingTokens, line: endLine).expectEnd()
                    let (elseBody, _) = try parseBody(until: ["endif"])
                    otherwise = elseBody
                }
                break
            }
            return .conditional(branches, otherwise: otherwise, line: line)
        case "for":
            var targets: [String] = []
            let parenthesised = p.accept(.op("("))
            repeat {
                guard case .name(let n)? = p.next() else { throw JinjaError.syntax(message: "expected a loop variable name after for", line: line) }
                targets.append(n)
            } while p.accept(.op(","))
            if parenthesised, !p.accept(.op(")")) { throw JinjaError.syntax(message: "expected ')' after the loop variables", line: line) }
            guard p.accept(.name("in")) else { throw JinjaError.syntax(message: "expected 'in' in the for statement", line: line) }
            let iterable = try p.tupleOrExpression(allowConditional: false)
            var condition: Expr? = nil
            if p.accept(.name("if")) { condition = try p.expression() }
            if p.accept(.name("recursive")) { throw JinjaError.unsupported(construct: "a recursive for loop", line: line) }
            try p.expectEnd()
            let (body, end) = try parseBody(until: ["else", "endfor"])
            var otherwise: [Node]? = nil
            if let (word, _) = end, word == "else" {
                otherwise = try parseBody(until: ["endfor"]).0
            }
            return .loop(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise, line: line)
        case "set":
            guard case .name(let first)? = p.next() else { throw JinjaError.syntax(message: "expected a variable name after set", line: line) }
            var target = AssignTarget.name(first)
            if p.accept(.op(".")) {
                guard case .name(let attr)? = p.next() else { throw JinjaError.syntax(message: "expected an attribute name after '.'", line: line) }
                target = .attribute(first, attr)
            } else if p.peek == .op(",") {
                var names = [first]
                while p.accept(.op(",")) {
                    guard case .name(let n)? = p.next() else { throw JinjaError.syntax(message: "expected a name in the set targets", line: line) }
                    names.append(n)
                }
                target = .names(names)
            }
            if p.atEnd {
                guard case .name(let name) = target else { throw JinjaError.unsupported(construct: "a block set with this target", line: line) }
                let (body, _) = try parseBody(until: ["endset"])
                return .assignBlock(name, body, line: line)
            }
            guard p.accept(.op("=")) else { throw JinjaError.syntax(message: "expected '=' in the set statement", line: line) }
            let value = try p.tupleOrExpression(allowConditional: true)
            try p.expectEnd()
            return .assign(target, value, line: line)
        case "macro":
            guard case .name(let name)? = p.next(), p.accept(.op("(")) else { throw JinjaError.syntax(message: "expected a macro name and '('", line: line) }
            var parameters: [(String, Expr?)] = []
            while !p.accept(.op(")")) {
                guard case .name(let param)? = p.next() else { throw JinjaError.syntax(message: "expected a parameter name in the macro", line: line) }
                var defaultValue: Expr? = nil
                if p.accept(.op("=")) { defaultValue = try p.expression() }
                parameters.append((param, defaultValue))
                if !p.accept(.op(",")) {
                    guard p.accept(.op(")")) else { throw JinjaError.syntax(message: "expected ',' or ')' in the macro parameters", line: line) }
                    break
                }
            }
            try p.expectEnd()
            let (body, _) = try parseBody(until: ["endmacro"])
            return .macro(name: name, parameters: parameters, body: body, line: line)
        case "break":
            try p.expectEnd()
            return .breakLoop(line: line)
        case "continue":
            try p.expectEnd()
            return .continueLoop(line: line)
        case "generation":
            try p.expectEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            return .generation(body)
        case "elif", "else", "endif", "endfor", "endset", "endmacro", "endgeneration":
            throw JinjaError.syntax(message: "unexpected {% \(keyword) %}", line: line)
        default:
            throw JinjaError.unsupported(construct: "the {% \(keyword) %} statement", line: line)
        }
    }
}

struct ExprParser {
    let tokens: [Token]
    var i = 0
    let line: Int

    init(tokens: [Token], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    var atEnd: Bool { i >= tokens.count }
    var peek: Token? { i < tokens.count ? tokens[i] : nil }
    func peek(_ offset: Int) -> Token? { i + offset < tokens.count ? tokens[i + offset] : nil }

    mutating func next() -> Token? {
        guard i < tokens.count else { return nil }
        i += 1
        return tokens[i - 1]
    }

    mutating func accept(_ t: Token) -> Bool {
        if peek == t { i += 1; return true }
        return false
    }

    func fail(_ message: String) -> JinjaError { .syntax(message: message, line: line) }

    func describe(_ t: Token?) -> String {
        switch t {
        case nil: return "the end of the tag"
        case .name(let n)?: return "'\(n)'"
        case .string(let s)?: return "the string '\(s)'"
        case .int(let v)?: return "\(v)"
        case .double(let v)?: return "\(v)"
        case .op(let o)?: return "'\(o)'"
        }
    }

    func expectEnd() throws {
        if !atEnd { throw fail("unexpected \(describe(peek))") }
    }

    mutating func expect(_ t: Token) throws {
        guard accept(t) else { throw fail("expected \(describe(t)) but found \(describe(peek))") }
    }

    /// `a, b` without brackets is a tuple (as in `for` iterables and `set` values).
    mutating func tupleOrExpression(allowConditional: Bool) throws -> Expr {
        let first = allowConditional ? try expression() : try orExpression()
        guard peek == .op(",") else { return first }
        var items = [first]
        while accept(.op(",")) {
            if atEnd || peek == .name("if") { break }
            items.append(allowConditional ? try expression() : try orExpression())
        }
        return .tuple(items)
    }

    mutating func expression() throws -> Expr {
        var e = try orExpression()
        while accept(.name("if")) {
            let test = try orExpression()
            var otherwise: Expr? = nil
            if accept(.name("else")) { otherwise = try expression() }
            e = .conditional(test: test, then: e, otherwise: otherwise)
        }
        return e
    }

    mutating func orExpression() throws -> Expr {
        var e = try andExpression()
        while accept(.name("or")) { e = .or(e, try andExpression()) }
        return e
    }

    mutating func andExpression() throws -> Expr {
        var e = try notExpression()
        while accept(.name("and")) { e = .and(e, try notExpression()) }
        return e
    }

    mutating func notExpression() throws -> Expr {
        if accept(.name("not")) { return .not(try notExpression()) }
        return try comparison()
    }

    mutating func comparison() throws -> Expr {
        let first = try math1()
        var rest: [(String, Expr)] = []
        while true {
            if case .op(let o)? = peek, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                i += 1
                rest.append((o, try math1()))
            } else if accept(.name("in")) {
                rest.append(("in", try math1()))
            } else if peek == .name("not"), peek(1) == .name("in") {
                i += 2
                rest.append(("not in", try math1()))
            } else {
                break
            }
        }
        return rest.isEmpty ? first : .compare(first, rest)
    }

    mutating func math1() throws -> Expr {
        var e = try concat()
        while case .op(let o)? = peek, o == "+" || o == "-" {
            i += 1
            e = .binary(o, e, try concat())
        }
        return e
    }

    mutating func concat() throws -> Expr {
        var e = try math2()
        while accept(.op("~")) { e = .binary("~", e, try math2()) }
        return e
    }

    mutating func math2() throws -> Expr {
        var e = try power()
        while case .op(let o)? = peek, ["*", "/", "//", "%"].contains(o) {
            i += 1
            e = .binary(o, e, try power())
        }
        return e
    }

    mutating func power() throws -> Expr {
        var e = try unary(withFilter: true)
        while accept(.op("**")) { e = .binary("**", e, try unary(withFilter: true)) }
        return e
    }

    mutating func unary(withFilter: Bool) throws -> Expr {
        var e: Expr
        if accept(.op("-")) {
            e = .negate(try unary(withFilter: false))
        } else if accept(.op("+")) {
            e = .plus(try unary(withFilter: false))
        } else {
            e = try primary()
        }
        e = try postfix(e)
        if withFilter { e = try filters(e) }
        return e
    }

    mutating func primary() throws -> Expr {
        guard let t = next() else { throw fail("expected an expression but the tag ends") }
        switch t {
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .string(var s):
            while case .string(let more)? = peek { s += more; i += 1 }
            return .literal(.string(s))
        case .int(let v): return .literal(.int(v))
        case .double(let v): return .literal(.double(v))
        case .op("("):
            if accept(.op(")")) { return .tuple([]) }
            let e = try expression()
            if peek == .op(",") {
                var items = [e]
                while accept(.op(",")) {
                    if peek == .op(")") { break }
                    items.append(try expression())
                }
                try expect(.op(")"))
                return .tuple(items)
            }
            try expect(.op(")"))
            return e
        case .op("["):
            var items: [Expr] = []
            while !accept(.op("]")) {
                items.append(try expression())
                if !accept(.op(",")) { try expect(.op("]")); break }
            }
            return .list(items)
        case .op("{"):
            var pairs: [(Expr, Expr)] = []
            while !accept(.op("}")) {
                let key = try expression()
                try expect(.op(":"))
                pairs.append((key, try expression()))
                if !accept(.op(",")) { try expect(.op("}")); break }
            }
            return .dict(pairs)
        default:
            throw fail("unexpected \(describe(t))")
        }
    }

    mutating func postfix(_ base: Expr) throws -> Expr {
        var e = base
        while true {
            if accept(.op(".")) {
                switch next() {
                case .name(let n)?: e = .attribute(e, n)
                case .int(let v)?: e = .item(e, .literal(.int(v)))
                default: throw fail("expected an attribute name after '.'")
                }
            } else if accept(.op("[")) {
                e = try subscriptExpr(e)
            } else if peek == .op("(") {
                e = try call(e)
            } else {
                return e
            }
        }
    }

    mutating func subscriptExpr(_ base: Expr) throws -> Expr {
        var parts: [Expr?] = []
        var current: Expr? = nil
        var isSlice = false
        while true {
            if accept(.op("]")) { parts.append(current); break }
            if accept(.op(":")) { parts.append(current); current = nil; isSlice = true; continue }
            if current != nil { throw fail("expected ']' or ':' in a subscript") }
            current = try expression()
        }
        if !isSlice {
            guard let only = parts.first ?? nil else { throw fail("empty subscript []") }
            return .item(base, only)
        }
        guard parts.count <= 3 else { throw fail("a slice has at most three parts") }
        return .slice(base, parts[0], parts.count > 1 ? parts[1] : nil, parts.count > 2 ? parts[2] : nil)
    }

    mutating func arguments() throws -> ([Expr], [(String, Expr)]) {
        try expect(.op("("))
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        while !accept(.op(")")) {
            if peek == .op("*") || peek == .op("**") { throw JinjaError.unsupported(construct: "*args / **kwargs in a call", line: line) }
            if case .name(let n)? = peek, peek(1) == .op("=") {
                i += 2
                kwargs.append((n, try expression()))
            } else {
                if !kwargs.isEmpty { throw fail("a positional argument follows a keyword argument") }
                args.append(try expression())
            }
            if !accept(.op(",")) { try expect(.op(")")); break }
        }
        return (args, kwargs)
    }

    mutating func call(_ callee: Expr) throws -> Expr {
        let (args, kwargs) = try arguments()
        return .call(callee, args, kwargs)
    }

    mutating func filters(_ base: Expr) throws -> Expr {
        var e = base
        while true {
            if accept(.op("|")) {
                guard case .name(var name)? = next() else { throw fail("expected a filter name after '|'") }
                while accept(.op(".")) {
                    guard case .name(let more)? = next() else { throw fail("expected a name after '.'") }
                    name += "." + more
                }
                guard JinjaBuiltins.filters.contains(name) else { throw JinjaError.unsupported(construct: "the filter '\(name)'", line: line) }
                var args: [Expr] = []
                var kwargs: [(String, Expr)] = []
                if peek == .op("(") { (args, kwargs) = try arguments() }
                e = .filter(e, name, args, kwargs)
            } else if peek == .name("is") {
                i += 1
                let negated = accept(.name("not"))
                let name: String
                switch next() {
                case .name(let n)?: name = n
                case .op(let o)? where ["==", "!=", "<", ">", "<=", ">="].contains(o): name = o
                default: throw fail("expected a test name after 'is'")
                }
                guard JinjaBuiltins.tests.contains(name) else { throw JinjaError.unsupported(construct: "the test '\(name)'", line: line) }
                var args: [Expr] = []
                if peek == .op("(") {
                    let (a, kw) = try arguments()
                    if !kw.isEmpty { throw JinjaError.unsupported(construct: "keyword arguments to a test", line: line) }
                    args = a
                } else if let t = peek, startsPrimary(t) {
                    args = [try postfix(try primary())]
                }
                e = .test(e, name, negated: negated, args)
            } else if peek == .op("(") {
                e = try call(e)
            } else {
                return e
            }
        }
    }

    func startsPrimary(_ t: Token) -> Bool {
        switch t {
        case .name(let n): return !["else", "or", "and", "if", "is", "in", "not"].contains(n)
        case .string, .int, .double: return true
        case .op(let o): return o == "[" || o == "{"
        }
    }
}
