import Foundation

/// Evaluates a parsed template over one context. One instance renders once; it is not shared.
final class JinjaRenderer {
    private enum Flow { case normal, breakLoop, continueLoop }

    private struct Macro {
        let parameters: [(String, Expr?)]
        let body: [Node]
        let line: Int
    }

    private var scopes: [[String: JinjaValue]]
    private var namespaces: [JinjaObject] = []
    private var macros: [Macro] = []
    private let now: Date

    static let builtinFunctions = ["raise_exception", "strftime_now", "namespace", "range", "dict"]

    init(context: [String: JinjaValue], now: Date) {
        var builtins: [String: JinjaValue] = [:]
        for name in JinjaRenderer.builtinFunctions { builtins[name] = .function(name) }
        scopes = [builtins, context, [:]]
        self.now = now
    }

    func render(_ nodes: [Node]) throws -> String {
        var out = ""
        _ = try run(nodes, into: &out)
        return out
    }

    // MARK: Statements

    private func run(_ nodes: [Node], into out: inout String) throws -> Flow {
        for node in nodes {
            switch node {
            case .text(let t):
                out += t
            case .output(let e, let line):
                out += try printable(try eval(e, line), line: line)
            case .conditional(let branches, let otherwise, let line):
                var taken = false
                for (condition, body) in branches where try eval(condition, line).isTruthy {
                    taken = true
                    let flow = try run(body, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken, let otherwise {
                    let flow = try run(otherwise, into: &out)
                    if flow != .normal { return flow }
                }
            case .loop(let targets, let iterableExpr, let condition, let body, let otherwise, let line):
                try runLoop(targets: targets, iterableExpr: iterableExpr, condition: condition, body: body,
                            otherwise: otherwise, line: line, into: &out)
            case .assign(let target, let e, let line):
                try assign(target, try eval(e, line), line: line)
            case .assignBlock(let name, let body, _):
                var captured = ""
                _ = try run(body, into: &captured)
                scopes[scopes.count - 1][name] = .string(captured)
            case .macro(let name, let parameters, let body, let line):
                macros.append(Macro(parameters: parameters, body: body, line: line))
                scopes[scopes.count - 1][name] = .macro(macros.count - 1)
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            case .generation(let body):
                let flow = try run(body, into: &out)
                if flow != .normal { return flow }
            }
        }
        return .normal
    }

    private func bind(_ targets: [String], _ item: JinjaValue, line: Int) throws {
        if targets.count == 1 {
            scopes[scopes.count - 1][targets[0]] = item
            return
        }
        let parts = try iterate(item, line: line)
        guard parts.count == targets.count else {
            throw JinjaError.type(message: "cannot unpack \(parts.count) values into \(targets.count) loop variables (\(targets.joined(separator: ", ")))", line: line)
        }
        for (name, value) in zip(targets, parts) { scopes[scopes.count - 1][name] = value }
    }

    private func runLoop(targets: [String], iterableExpr: Expr, condition: Expr?, body: [Node], otherwise: [Node]?,
                         line: Int, into out: inout String) throws {
        var items = try iterate(try eval(iterableExpr, line), line: line)
        if let condition {
            var kept: [JinjaValue] = []
            for item in items {
                scopes.append([:])
                defer { scopes.removeLast() }
                try bind(targets, item, line: line)
                if try eval(condition, line).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            if let otherwise {
                scopes.append([:])
                defer { scopes.removeLast() }
                _ = try run(otherwise, into: &out)
            }
            return
        }
        let n = items.count
        for (i, item) in items.enumerated() {
            let loop = JinjaObject([
                ("index", .int(i + 1)), ("index0", .int(i)), ("revindex", .int(n - i)), ("revindex0", .int(n - i - 1)),
                ("first", .bool(i == 0)), ("last", .bool(i == n - 1)), ("length", .int(n)),
                ("previtem", i > 0 ? items[i - 1] : .undefined("there is no previous item")),
                ("nextitem", i + 1 < n ? items[i + 1] : .undefined("there is no next item")),
                ("depth", .int(1)), ("depth0", .int(0)),
            ])
            scopes.append(["loop": .object(loop)])
            defer { scopes.removeLast() }
            try bind(targets, item, line: line)
            let flow = try run(body, into: &out)
            if flow == .breakLoop { break }
        }
    }

    private func assign(_ target: AssignTarget, _ value: JinjaValue, line: Int) throws {
        switch target {
        case .name(let n):
            scopes[scopes.count - 1][n] = value
        case .names(let names):
            try bind(names, value, line: line)
        case .attribute(let n, let attr):
            guard case .namespace(let id) = lookup(n) else {
                throw JinjaError.type(message: "cannot assign attribute on non-namespace object '\(n)'", line: line)
            }
            namespaces[id][attr] = value
        }
    }

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let v = scope[name] { return v }
        }
        return .undefined("'\(name)' is undefined")
    }

    // MARK: Expressions

    func eval(_ e: Expr, _ line: Int) throws -> JinjaValue {
        switch e {
        case .literal(let v): return v
        case .name(let n): return lookup(n)
        case .list(let items): return .array(try items.map { try eval($0, line) })
        case .tuple(let items): return .tuple(try items.map { try eval($0, line) })
        case .dict(let pairs):
            var o = JinjaObject()
            for (k, v) in pairs {
                guard case .string(let key) = try eval(k, line) else {
                    throw JinjaError.unsupported(construct: "a dict literal with a key that is not a string", line: line)
                }
                o[key] = try eval(v, line)
            }
            return .object(o)
        case .attribute(let base, let name):
            return try attribute(try eval(base, line), name, line: line)
        case .item(let base, let key):
            return try item(try eval(base, line), try eval(key, line), line: line)
        case .slice(let base, let start, let stop, let step):
            return try slice(try eval(base, line), start.map { try eval($0, line) }, stop.map { try eval($0, line) },
                             step.map { try eval($0, line) }, line: line)
        case .call(let callee, let argExprs, let kwargExprs):
            let args = try argExprs.map { try eval($0, line) }
            var kwargs: [(String, JinjaValue)] = []
            for (k, v) in kwargExprs { kwargs.append((k, try eval(v, line))) }
            if case .attribute(let objectExpr, let name) = callee {
                let object = try eval(objectExpr, line)
                if case .undefined(let message) = object { throw JinjaError.undefined(message: message, line: line) }
                if let result = try method(object, name, args, kwargs, line: line) { return result }
                return try call(try attribute(object, name, line: line), args, kwargs, line: line)
            }
            return try call(try eval(callee, line), args, kwargs, line: line)
        case .filter(let base, let name, let argExprs, let kwargExprs):
            let value = try eval(base, line)
            let args = try argExprs.map { try eval($0, line) }
            var kwargs: [(String, JinjaValue)] = []
            for (k, v) in kwargExprs { kwargs.append((k, try eval(v, line))) }
            return try filter(name, value, args, kwargs, line: line)
        case .test(let base, let name, let negated, let argExprs):
            let value = try eval(base, line)
            let args = try argExprs.map { try eval($0, line) }
            let result = try test(name, value, args, line: line)
            return .bool(negated ? !result : result)
        case .negate(let inner):
            let v = try eval(inner, line)
            switch v.numeric {
            case .int(let i)?: return .int(-i)
            case .double(let d)?: return .double(-d)
            default:
                if case .undefined(let m) = v { throw JinjaError.undefined(message: m, line: line) }
                throw JinjaError.type(message: "bad operand type for unary -: '\(v.typeName)'", line: line)
            }
        case .plus(let inner):
            let v = try eval(inner, line)
            guard let n = v.numeric else { throw JinjaError.type(message: "bad operand type for unary +: '\(v.typeName)'", line: line) }
            return n
        case .not(let inner):
            return .bool(!(try eval(inner, line).isTruthy))
        case .and(let a, let b):
            let left = try eval(a, line)
            return left.isTruthy ? try eval(b, line) : left
        case .or(let a, let b):
            let left = try eval(a, line)
            return left.isTruthy ? left : try eval(b, line)
        case .binary(let op, let a, let b):
            let left = try eval(a, line), right = try eval(b, line)
            // `Markup + str` escapes the str (markupsafe): "…"|safe + x, and + chains built on one.
            if op == "+", case .string(let l) = left, case .string(let r) = right {
                let markupLeft = Self.isMarkup(a), markupRight = Self.isMarkup(b)
                if markupLeft != markupRight {
                    return .string(markupLeft ? l + Self.escapeHTML(r) : Self.escapeHTML(l) + r)
                }
            }
            return try binary(op, left, right, line: line)
        case .compare(let first, let rest):
            var left = try eval(first, line)
            for (op, rightExpr) in rest {
                let right = try eval(rightExpr, line)
                guard try compare(op, left, right, line: line) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let testExpr, let then, let otherwise):
            if try eval(testExpr, line).isTruthy { return try eval(then, line) }
            if let otherwise { return try eval(otherwise, line) }
            return .undefined("the inline if-expression evaluated to false and no else section was defined")
        }
    }

    /// Whether an expression is jinja2 `Markup` (a `safe` result, or `+` on one), as far as the
    /// syntax shows; a variable set to a `safe` value is a plain string here.
    private static func isMarkup(_ e: Expr) -> Bool {
        switch e {
        case .filter(_, "safe", _, _): return true
        case .binary("+", let a, let b): return isMarkup(a) || isMarkup(b)
        default: return false
        }
    }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// `str(value)` for output and `~`; a generator would print its memory address, so it is refused.
    private func printable(_ v: JinjaValue, line: Int) throws -> String {
        if case .iterator = v {
            throw JinjaError.unsupported(construct: "printing a generator (add |list; jinja2 prints a memory address)", line: line)
        }
        return v.pythonString
    }

    private func undefinedError(_ v: JinjaValue, line: Int) -> JinjaError? {
        if case .undefined(let m) = v { return .undefined(message: m, line: line) }
        return nil
    }

    func attribute(_ v: JinjaValue, _ name: String, line: Int) throws -> JinjaValue {
        switch v {
        case .undefined(let message): throw JinjaError.undefined(message: message, line: line)
        case .object(let o): return o[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let id): return namespaces[id][name] ?? .undefined("'Namespace' object has no attribute '\(name)'")
        default: return .undefined("'\(v.typeName) object' has no attribute '\(name)'")
        }
    }

    private func index(_ key: JinjaValue, count: Int) -> Int? {
        guard case .int(var i)? = key.numeric else { return nil }
        if i < 0 { i += count }
        return (0..<count).contains(i) ? i : nil
    }

    func item(_ v: JinjaValue, _ key: JinjaValue, line: Int) throws -> JinjaValue {
        if let error = undefinedError(v, line: line) { throw error }
        switch v {
        case .array(let a), .tuple(let a):
            if let i = index(key, count: a.count) { return a[i] }
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            if let i = index(key, count: scalars.count) { return .string(String(scalars[i])) }
        case .object(let o):
            if case .string(let k) = key { return o[k] ?? .undefined("'dict object' has no attribute '\(k)'") }
        default: break
        }
        if case .string(let k) = key { return try attribute(v, k, line: line) }
        return .undefined("'\(v.typeName) object' has no element \(key.pythonRepr)")
    }

    private func sliceIndices(count: Int, _ start: JinjaValue?, _ stop: JinjaValue?, _ step: JinjaValue?, line: Int) throws -> [Int] {
        func intOrNil(_ v: JinjaValue?) throws -> Int? {
            guard let v, !(v == .none) else { return nil }
            guard case .int(let i)? = v.numeric else { throw JinjaError.type(message: "slice indices must be integers or None", line: line) }
            return i
        }
        let stepValue = try intOrNil(step) ?? 1
        guard stepValue != 0 else { throw JinjaError.type(message: "slice step cannot be zero", line: line) }
        func clamp(_ i: Int?, _ defaultValue: Int, low: Int, high: Int) -> Int {
            guard var i else { return defaultValue }
            if i < 0 { i += count }
            return min(max(i, low), high)
        }
        var result: [Int] = []
        if stepValue > 0 {
            let a = clamp(try intOrNil(start), 0, low: 0, high: count)
            let b = clamp(try intOrNil(stop), count, low: 0, high: count)
            var i = a
            while i < b { result.append(i); i += stepValue }
        } else {
            let a = clamp(try intOrNil(start), count - 1, low: -1, high: count - 1)
            let b = clamp(try intOrNil(stop), -1, low: -1, high: count - 1)
            var i = a
            while i > b { result.append(i); i += stepValue }
        }
        return result
    }

    private func slice(_ v: JinjaValue, _ start: JinjaValue?, _ stop: JinjaValue?, _ step: JinjaValue?, line: Int) throws -> JinjaValue {
        if let error = undefinedError(v, line: line) { throw error }
        switch v {
        case .array(let a):
            return .array(try sliceIndices(count: a.count, start, stop, step, line: line).map { a[$0] })
        case .tuple(let a):
            return .tuple(try sliceIndices(count: a.count, start, stop, step, line: line).map { a[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try sliceIndices(count: scalars.count, start, stop, step, line: line) { out.append(scalars[i]) }
            return .string(String(out))
        default:
            // jinja2 compiles slices to plain Python subscripts (not its forgiving getitem).
            throw JinjaError.type(message: "'\(v.typeName)' object is not subscriptable", line: line)
        }
    }

    func iterate(_ v: JinjaValue, line: Int) throws -> [JinjaValue] {
        switch v {
        case .undefined: return []
        case .array(let a), .tuple(let a), .iterator(let a): return a
        case .object(let o): return o.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        default: throw JinjaError.type(message: "'\(v.typeName)' object is not iterable", line: line)
        }
    }

    // MARK: Operators

    private func arithmetic(_ op: String, _ a: JinjaValue, _ b: JinjaValue, line: Int) throws -> JinjaValue? {
        guard let x = a.numeric, let y = b.numeric else { return nil }
        if case .int(let i) = x, case .int(let j) = y {
            switch op {
            case "+": let (r, o) = i.addingReportingOverflow(j); if !o { return .int(r) }
            case "-": let (r, o) = i.subtractingReportingOverflow(j); if !o { return .int(r) }
            case "*": let (r, o) = i.multipliedReportingOverflow(by: j); if !o { return .int(r) }
            case "//", "%":
                guard j != 0 else { throw JinjaError.type(message: "integer division or modulo by zero", line: line) }
                var q = i / j
                if (i % j != 0) && ((i < 0) != (j < 0)) { q -= 1 }
                return op == "//" ? .int(q) : .int(i - q * j)
            case "**" where j >= 0:
                var r = 1
                for _ in 0..<j {
                    let (m, o) = r.multipliedReportingOverflow(by: i)
                    if o { return .double(pow(Double(i), Double(j))) }
                    r = m
                }
                return .int(r)
            default: break
            }
        }
        let p = x.doubleValue, q = y.doubleValue
        switch op {
        case "+": return .double(p + q)
        case "-": return .double(p - q)
        case "*": return .double(p * q)
        case "/":
            guard q != 0 else { throw JinjaError.type(message: "division by zero", line: line) }
            return .double(p / q)
        case "//":
            guard q != 0 else { throw JinjaError.type(message: "float floor division by zero", line: line) }
            return .double((p / q).rounded(.down))
        case "%":
            guard q != 0 else { throw JinjaError.type(message: "float modulo", line: line) }
            let r = p - q * (p / q).rounded(.down)
            return .double(r)
        case "**": return .double(pow(p, q))
        default: return nil
        }
    }

    private func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue, line: Int) throws -> JinjaValue {
        if op == "~" { return .string(try printable(a, line: line) + printable(b, line: line)) }
        if let error = undefinedError(a, line: line) ?? undefinedError(b, line: line) { throw error }
        if let r = try arithmetic(op, a, b, line: line) { return r }
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .array(let x), .array(let y)): return .array(x + y)
        case ("+", .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            let other = a.typeName == "str" ? b : a
            guard case .int(let n)? = other.numeric else { break }
            return .string(String(repeating: s, count: max(0, n)))
        case ("*", .array(let arr), _), ("*", _, .array(let arr)):
            let other = a.typeName == "list" ? b : a
            guard case .int(let n)? = other.numeric else { break }
            return .array(Array([[JinjaValue]](repeating: arr, count: max(0, n)).joined()))
        case ("*", .tuple(let arr), _), ("*", _, .tuple(let arr)):
            let other = a.typeName == "tuple" ? b : a
            guard case .int(let n)? = other.numeric else { break }
            return .tuple(Array([[JinjaValue]](repeating: arr, count: max(0, n)).joined()))
        case ("%", .string, _):
            throw JinjaError.unsupported(construct: "printf-style string formatting with %", line: line)
        default: break
        }
        if op == "+", case .string = a {
            throw JinjaError.type(message: "can only concatenate str (not \"\(b.typeName)\") to str", line: line)
        }
        throw JinjaError.type(message: "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'", line: line)
    }

    private func lessThan(_ a: JinjaValue, _ b: JinjaValue, op: String, line: Int) throws -> Bool {
        if let error = undefinedError(a, line: line) ?? undefinedError(b, line: line) { throw error }
        if let x = a.numeric, let y = b.numeric {
            if case .int(let i) = x, case .int(let j) = y { return i < j }
            return x.doubleValue < y.doubleValue
        }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
        case (.array(let x), .array(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !p.pythonEquals(q) { return try lessThan(p, q, op: op, line: line) }
            return x.count < y.count
        default:
            throw JinjaError.type(message: "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", line: line)
        }
    }

    private func contains(_ container: JinjaValue, _ item: JinjaValue, line: Int) throws -> Bool {
        switch container {
        case .undefined: return false
        case .string(let s):
            guard case .string(let sub) = item else {
                throw JinjaError.type(message: "'in <string>' requires string as left operand, not \(item.typeName)", line: line)
            }
            return Self.find(Array(sub.unicodeScalars), in: Array(s.unicodeScalars)) != nil
        case .array(let a), .tuple(let a), .iterator(let a): return a.contains { $0.pythonEquals(item) }
        case .object(let o):
            switch item {
            case .string(let k): return o[k] != nil
            case .array, .object, .iterator: throw JinjaError.type(message: "unhashable type: '\(item.typeName)'", line: line)
            default: return false
            }
        default:
            throw JinjaError.type(message: "argument of type '\(container.typeName)' is not iterable", line: line)
        }
    }

    private func compare(_ op: String, _ a: JinjaValue, _ b: JinjaValue, line: Int) throws -> Bool {
        switch op {
        case "==": return a.pythonEquals(b)
        case "!=": return !a.pythonEquals(b)
        case "<": return try lessThan(a, b, op: op, line: line)
        case ">": return try lessThan(b, a, op: op, line: line)
        case "<=": return try !lessThan(b, a, op: op, line: line)
        case ">=": return try !lessThan(a, b, op: op, line: line)
        case "in": return try contains(b, a, line: line)
        case "not in": return try !contains(b, a, line: line)
        default: throw JinjaError.unsupported(construct: "the operator \(op)", line: line)
        }
    }

    // MARK: Calls

    private func call(_ f: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], line: Int) throws -> JinjaValue {
        switch f {
        case .undefined(let message): throw JinjaError.undefined(message: message, line: line)
        case .macro(let id): return try callMacro(macros[id], args, kwargs, line: line)
        case .function(let name):
            switch name {
            case "raise_exception":
                throw JinjaError.raised(message: (args.first ?? kwargs.first?.1 ?? .string("")).pythonString, line: line)
            case "strftime_now":
                guard case .string(let format)? = args.first else {
                    throw JinjaError.type(message: "strftime_now needs a format string", line: line)
                }
                return .string(try Self.strftime(format, now, line: line))
            case "namespace", "dict":
                var o = JinjaObject()
                if let first = args.first {
                    guard case .object(let initial) = first else {
                        throw JinjaError.type(message: "\(name)() takes a mapping as its positional argument", line: line)
                    }
                    o = initial
                }
                for (k, v) in kwargs { o[k] = v }
                if name == "dict" { return .object(o) }
                namespaces.append(o)
                return .namespace(namespaces.count - 1)
            case "range":
                let ints = try args.map { v -> Int in
                    guard case .int(let i)? = v.numeric else { throw JinjaError.type(message: "range() takes integers", line: line) }
                    return i
                }
                let (start, stop, step) = ints.count == 1 ? (0, ints[0], 1) : ints.count == 2 ? (ints[0], ints[1], 1)
                    : ints.count == 3 ? (ints[0], ints[1], ints[2]) : (0, 0, 0)
                guard step != 0 else { throw JinjaError.type(message: "range() needs 1 to 3 arguments and a step that is not 0", line: line) }
                return .array(stride(from: start, to: stop, by: step).map { .int($0) })
            default:
                throw JinjaError.unsupported(construct: "the function \(name)()", line: line)
            }
        default:
            throw JinjaError.type(message: "'\(f.typeName)' object is not callable", line: line)
        }
    }

    private func callMacro(_ macro: Macro, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], line: Int) throws -> JinjaValue {
        guard args.count <= macro.parameters.count else {
            throw JinjaError.unsupported(construct: "a macro called with more arguments than it declares", line: line)
        }
        let saved = scopes
        scopes = Array(saved.prefix(3)) + [[:]]
        defer { scopes = saved }
        for (i, (name, defaultExpr)) in macro.parameters.enumerated() {
            if i < args.count {
                scopes[scopes.count - 1][name] = args[i]
            } else if let kw = kwargs.first(where: { $0.0 == name }) {
                scopes[scopes.count - 1][name] = kw.1
            } else if let defaultExpr {
                scopes[scopes.count - 1][name] = try eval(defaultExpr, macro.line)
            } else {
                scopes[scopes.count - 1][name] = .undefined("'\(name)' is undefined")
            }
        }
        for (k, _) in kwargs where !macro.parameters.contains(where: { $0.0 == k }) {
            throw JinjaError.unsupported(construct: "a macro called with the unknown keyword argument '\(k)'", line: line)
        }
        var out = ""
        _ = try run(macro.body, into: &out)
        return .string(out)
    }

    private static let mutatingMethods: Set<String> = ["append", "extend", "insert", "pop", "remove", "clear", "update",
                                                        "setdefault", "popitem", "sort", "reverse", "add", "discard"]

    /// Python methods of str, dict and list that templates call; nil when `name` is not one.
    private func method(_ object: JinjaValue, _ name: String, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], line: Int) throws -> JinjaValue? {
        func arg(_ i: Int, _ key: String) -> JinjaValue? {
            if i < args.count { return args[i] }
            return kwargs.first { $0.0 == key }?.1
        }
        func stringArg(_ i: Int, _ key: String) throws -> String? {
            guard let v = arg(i, key), v != .none else { return nil }
            guard case .string(let s) = v else { throw JinjaError.type(message: "\(name)() argument must be str, not \(v.typeName)", line: line) }
            return s
        }
        switch object {
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            switch name {
            case "strip", "lstrip", "rstrip":
                let chars = try stringArg(0, "chars").map { Set($0.unicodeScalars) }
                return .string(Self.strip(scalars, chars: chars, left: name != "rstrip", right: name != "lstrip"))
            case "split", "rsplit":
                let maxsplit: Int
                if case .int(let m)? = arg(1, "maxsplit")?.numeric { maxsplit = m } else { maxsplit = -1 }
                if let sep = try stringArg(0, "sep") {
                    guard !sep.isEmpty else { throw JinjaError.type(message: "empty separator", line: line) }
                    if name == "rsplit", maxsplit >= 0 {
                        throw JinjaError.unsupported(construct: "rsplit() with maxsplit", line: line)
                    }
                    return .array(Self.split(scalars, by: Array(sep.unicodeScalars), maxsplit: maxsplit).map { .string($0) })
                }
                if maxsplit >= 0 { throw JinjaError.unsupported(construct: "split() on whitespace with maxsplit", line: line) }
                return .array(Self.splitWhitespace(scalars).map { .string($0) })
            case "startswith", "endswith":
                guard let v = arg(0, "prefix") else { throw JinjaError.type(message: "\(name)() takes an argument", line: line) }
                let candidates: [JinjaValue]
                if case .tuple(let a) = v { candidates = a } else { candidates = [v] }
                for c in candidates {
                    guard case .string(let p) = c else { throw JinjaError.type(message: "\(name)() argument must be str", line: line) }
                    let ps = Array(p.unicodeScalars)
                    if name == "startswith" ? scalars.starts(with: ps) : scalars.reversed().starts(with: ps.reversed()) { return .bool(true) }
                }
                return .bool(false)
            case "replace":
                guard let old = try stringArg(0, "old"), let new = try stringArg(1, "new") else {
                    throw JinjaError.type(message: "replace() takes two strings", line: line)
                }
                var count = -1
                if case .int(let c)? = arg(2, "count")?.numeric { count = c }
                return .string(Self.replace(scalars, Array(old.unicodeScalars), new, count: count))
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "title": return .string(Self.title(s))
            case "capitalize": return .string(Self.capitalize(s))
            case "find":
                guard let sub = try stringArg(0, "sub") else { throw JinjaError.type(message: "find() takes a string", line: line) }
                return .int(Self.find(Array(sub.unicodeScalars), in: scalars) ?? -1)
            case "count":
                guard let sub = try stringArg(0, "sub") else { throw JinjaError.type(message: "count() takes a string", line: line) }
                return .int(Self.split(scalars, by: Array(sub.unicodeScalars), maxsplit: -1).count - 1)
            case "join":
                guard let v = arg(0, "iterable") else { throw JinjaError.type(message: "join() takes an iterable", line: line) }
                let parts = try iterate(v, line: line).map { item -> String in
                    guard case .string(let p) = item else { throw JinjaError.type(message: "sequence item: expected str instance, \(item.typeName) found", line: line) }
                    return p
                }
                return .string(parts.joined(separator: s))
            case "isdigit": return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
            case "isspace": return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.isWhitespace })
            case "isalpha": return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.isAlphabetic })
            case "splitlines": return .array(JinjaLexer.normaliseNewlines(s + "\n").split(separator: "\n", omittingEmptySubsequences: false).map { .string(String($0)) }.dropLast().map { $0 })
            case "format", "format_map":
                throw JinjaError.unsupported(construct: "str.\(name)()", line: line)
            default: return nil
            }
        case .object(let o):
            switch name {
            case "items": return .array(o.pairs.map { .tuple([.string($0.0), $0.1]) })
            case "keys": return .array(o.keys.map { .string($0) })
            case "values": return .array(o.pairs.map { $0.1 })
            case "get":
                guard case .string(let key)? = arg(0, "key") else { return arg(1, "default") ?? JinjaValue.none }
                return o[key] ?? arg(1, "default") ?? JinjaValue.none
            case "cycle" where o["index0"] != nil && o["cycle"] == nil:
                guard case .int(let i)? = o["index0"], !args.isEmpty else { throw JinjaError.type(message: "loop.cycle() needs arguments", line: line) }
                return args[i % args.count]
            default:
                if Self.mutatingMethods.contains(name) && o[name] == nil {
                    throw JinjaError.type(message: "access to attribute '\(name)' of 'dict' object is unsafe (the sandbox forbids changing values)", line: line)
                }
                return nil
            }
        case .array(let a), .tuple(let a):
            switch name {
            case "index":
                guard let v = arg(0, "value"), let i = a.firstIndex(where: { $0.pythonEquals(v) }) else {
                    throw JinjaError.type(message: "value is not in list", line: line)
                }
                return .int(i)
            case "count":
                guard let v = arg(0, "value") else { return .int(0) }
                return .int(a.filter { $0.pythonEquals(v) }.count)
            default:
                if Self.mutatingMethods.contains(name) {
                    throw JinjaError.type(message: "access to attribute '\(name)' of 'list' object is unsafe (the sandbox forbids changing values)", line: line)
                }
                return nil
            }
        default:
            return nil
        }
    }

    // MARK: Filters

    private func filter(_ name: String, _ value: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], line: Int) throws -> JinjaValue {
        func arg(_ i: Int, _ key: String) -> JinjaValue? {
            if i < args.count { return args[i] }
            return kwargs.first { $0.0 == key }?.1
        }
        switch name {
        case "trim":
            let chars: Set<Unicode.Scalar>?
            if case .string(let c)? = arg(0, "chars") { chars = Set(c.unicodeScalars) } else { chars = nil }
            return .string(Self.strip(Array(value.pythonString.unicodeScalars), chars: chars, left: true, right: true))
        case "tojson":
            let asciiOnly = arg(0, "ensure_ascii")?.isTruthy ?? false
            if arg(2, "separators").map({ $0 != .none }) ?? false {
                throw JinjaError.unsupported(construct: "tojson with separators", line: line)
            }
            var v = value
            if arg(3, "sort_keys")?.isTruthy ?? false { v = Self.sortKeys(v) }
            var indent: String? = nil
            switch arg(1, "indent") {
            case .int(let n)?: indent = String(repeating: " ", count: max(0, n))
            case .string(let s)?: indent = s
            case nil, .none?: indent = nil
            case let other?: throw JinjaError.type(message: "tojson indent must be an int or a string, not \(other.typeName)", line: line)
            }
            return .string(try v.json(indent: indent, asciiOnly: asciiOnly, line: line))
        case "length", "count":
            switch value {
            case .undefined: return .int(0)
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let a), .tuple(let a): return .int(a.count)
            case .object(let o): return .int(o.count)
            default: throw JinjaError.type(message: "object of type '\(value.typeName)' has no len()", line: line)
            }
        case "upper": return .string(value.pythonString.uppercased())
        case "lower": return .string(value.pythonString.lowercased())
        case "title": return .string(Self.title(value.pythonString))
        case "capitalize": return .string(Self.capitalize(value.pythonString))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            let boolean = arg(1, "boolean")?.isTruthy ?? false
            if value.isUndefined || (boolean && !value.isTruthy) { return fallback }
            return value
        case "join":
            let separator = arg(0, "d")?.pythonString ?? ""
            var items = try iterate(value, line: line)
            if let attribute = arg(1, "attribute") { items = try items.map { try attributePath($0, attribute, line: line) } }
            return .string(items.map(\.pythonString).joined(separator: separator))
        case "first":
            return try iterate(value, line: line).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .iterator = value { throw JinjaError.type(message: "'generator' object is not reversible (last)", line: line) }
            return try iterate(value, line: line).last ?? .undefined("No last item, sequence was empty.")
        case "list":
            return .array(try iterate(value, line: line))
        case "items":
            switch value {
            case .undefined: return .iterator([])
            case .object(let o): return .iterator(o.pairs.map { .tuple([.string($0.0), $0.1]) })
            default: throw JinjaError.type(message: "Can only get item pairs from a mapping.", line: line)
            }
        case "selectattr", "rejectattr":
            guard let attribute = args.first else { throw JinjaError.type(message: "\(name) needs an attribute name", line: line) }
            let keep = name == "selectattr"
            guard value.isTruthy else { return .iterator([]) }
            return .iterator(try iterate(value, line: line).filter { item in
                let v = try attributePath(item, attribute, line: line)
                return try passes(v, Array(args.dropFirst()), line: line) == keep
            })
        case "select", "reject":
            let keep = name == "select"
            guard value.isTruthy else { return .iterator([]) }
            return .iterator(try iterate(value, line: line).filter { try passes($0, args, line: line) == keep })
        case "map":
            guard value.isTruthy else { return .iterator([]) }
            let items = try iterate(value, line: line)
            if let attribute = kwargs.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = kwargs.first(where: { $0.0 == "default" })?.1
                return .iterator(try items.map { item in
                    let v = try attributePath(item, attribute, line: line)
                    if v.isUndefined, let fallback { return fallback }
                    return v
                })
            }
            guard case .string(let filterName)? = args.first else {
                throw JinjaError.type(message: "map needs a filter name or attribute=", line: line)
            }
            guard JinjaBuiltins.filters.contains(filterName) else {
                throw JinjaError.unsupported(construct: "the filter '\(filterName)'", line: line)
            }
            return .iterator(try items.map { try filter(filterName, $0, Array(args.dropFirst()), [], line: line) })
        case "string", "safe":
            return name == "safe" ? value : .string(try printable(value, line: line))
        case "replace":
            guard case .string(let old)? = arg(0, "old"), case .string(let new)? = arg(1, "new") else {
                throw JinjaError.type(message: "replace needs two strings", line: line)
            }
            var count = -1
            if case .int(let c)? = arg(2, "count")?.numeric { count = c }
            return .string(Self.replace(Array(value.pythonString.unicodeScalars), Array(old.unicodeScalars), new, count: count))
        case "abs":
            switch value.numeric {
            case .int(let i)?: return .int(abs(i))
            case .double(let d)?: return .double(abs(d))
            default: throw JinjaError.type(message: "bad operand type for abs(): '\(value.typeName)'", line: line)
            }
        case "int":
            if case .undefined(let m) = value { throw JinjaError.undefined(message: m, line: line) }
            let fallback = arg(0, "default") ?? .int(0)
            switch value {
            case .int, .bool: return value.numeric ?? fallback
            case .double(let d): return d.isFinite ? .int(Int(d)) : fallback
            case .string(let s):
                let t = s.trimmingCharacters(in: .whitespaces)
                if let i = Int(t) { return .int(i) }
                if let d = Double(t), d.isFinite { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            if case .undefined(let m) = value { throw JinjaError.undefined(message: m, line: line) }
            let fallback = arg(0, "default") ?? .double(0)
            switch value {
            case .int, .bool, .double: return .double(value.doubleValue)
            case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces)).map { .double($0) } ?? fallback
            default: return fallback
            }
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .iterator(try iterate(value, line: line).reversed())
        case "sort":
            let reverse = arg(0, "reverse")?.isTruthy ?? false
            let caseSensitive = arg(1, "case_sensitive")?.isTruthy ?? false
            let attribute = arg(2, "attribute")
            let items = try iterate(value, line: line)
            let keys = try items.map { item -> JinjaValue in
                var k = item
                if let attribute { k = try attributePath(item, attribute, line: line) }
                if !caseSensitive, case .string(let s) = k { k = .string(s.lowercased()) }
                return k
            }
            var order = Array(items.indices)
            var failure: JinjaError? = nil
            order.sort { i, j in
                do { return try lessThan(keys[i], keys[j], op: "<", line: line) } catch let e as JinjaError { failure = e; return false } catch { return false }
            }
            if let failure { throw failure }
            if reverse { order.reverse() }
            return .array(order.map { items[$0] })
        case "dictsort":
            guard case .object(let o) = value else { throw JinjaError.type(message: "You can only sort by either a dict", line: line) }
            let caseSensitive = arg(0, "case_sensitive")?.isTruthy ?? false
            let byValue: Bool
            switch arg(1, "by") {
            case nil, .string("key")?: byValue = false
            case .string("value")?: byValue = true
            default: throw JinjaError.type(message: "You can only sort by either \"key\" or \"value\"", line: line)
            }
            let reverse = arg(2, "reverse")?.isTruthy ?? false
            let pairs = o.pairs
            let keys = pairs.map { pair -> JinjaValue in
                var k = byValue ? pair.1 : .string(pair.0)
                if !caseSensitive, case .string(let s) = k { k = .string(s.lowercased()) }
                return k
            }
            var order = Array(pairs.indices)
            var failure: JinjaError? = nil
            order.sort { i, j in
                do { return try lessThan(keys[i], keys[j], op: "<", line: line) } catch let e as JinjaError { failure = e; return false } catch { return false }
            }
            if let failure { throw failure }
            if reverse { order.reverse() }
            return .array(order.map { .tuple([.string(pairs[$0].0), pairs[$0].1]) })
        case "unique":
            let caseSensitive = arg(0, "case_sensitive")?.isTruthy ?? false
            var seen: [JinjaValue] = []
            var out: [JinjaValue] = []
            for item in try iterate(value, line: line) {
                var key = item
                if !caseSensitive, case .string(let s) = key { key = .string(s.lowercased()) }
                if !seen.contains(where: { $0.pythonEquals(key) }) { seen.append(key); out.append(item) }
            }
            return .iterator(out)
        case "min", "max":
            let caseSensitive = arg(0, "case_sensitive")?.isTruthy ?? false
            let attribute = arg(1, "attribute")
            let items = try iterate(value, line: line)
            func key(_ item: JinjaValue) throws -> JinjaValue {
                var k = item
                if let attribute { k = try attributePath(item, attribute, line: line) }
                if !caseSensitive, case .string(let s) = k { k = .string(s.lowercased()) }
                return k
            }
            guard var best = items.first else { return .undefined("No \(name) item, sequence was empty.") }
            var bestKey = try key(best)
            for item in items.dropFirst() {
                let k = try key(item)
                let better = name == "min" ? try lessThan(k, bestKey, op: "<", line: line) : try lessThan(bestKey, k, op: "<", line: line)
                if better { best = item; bestKey = k }
            }
            return best
        case "sum":
            var total = arg(1, "start") ?? .int(0)
            for item in try iterate(value, line: line) { total = try binary("+", total, item, line: line) }
            return total
        case "indent":
            let width = arg(0, "width") ?? .int(4)
            let indention: String
            if case .string(let w) = width { indention = w } else if case .int(let n)? = width.numeric { indention = String(repeating: " ", count: max(0, n)) } else { indention = "    " }
            let first = arg(1, "first")?.isTruthy ?? false
            let blank = arg(2, "blank")?.isTruthy ?? false
            let lines = JinjaLexer.normaliseNewlines(value.pythonString + "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var rv: String
            if blank {
                rv = lines.joined(separator: "\n" + indention)
            } else {
                rv = lines.first ?? ""
                let rest = lines.dropFirst()
                if !rest.isEmpty { rv += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
            }
            if first { rv = indention + rv }
            return .string(rv)
        default:
            throw JinjaError.unsupported(construct: "the filter '\(name)'", line: line)
        }
    }

    /// `attribute` of selectattr / map / join / sort: a key, or a dotted path of keys / indices.
    private func attributePath(_ item: JinjaValue, _ attribute: JinjaValue, line: Int) throws -> JinjaValue {
        if case .int = attribute { return try self.item(item, attribute, line: line) }
        var v = item
        for part in attribute.pythonString.split(separator: ".", omittingEmptySubsequences: false) {
            if v.isUndefined { return v }
            let key: JinjaValue = Int(part).map { .int($0) } ?? .string(String(part))
            v = try self.item(v, key, line: line)
        }
        return v
    }

    /// select / reject / selectattr / rejectattr: `args` is a test name and its arguments, or nothing (truthiness).
    private func passes(_ value: JinjaValue, _ args: [JinjaValue], line: Int) throws -> Bool {
        guard let first = args.first else { return value.isTruthy }
        guard case .string(let testName) = first else { throw JinjaError.type(message: "a test name must be a string", line: line) }
        guard JinjaBuiltins.tests.contains(testName) else { throw JinjaError.unsupported(construct: "the test '\(testName)'", line: line) }
        return try test(testName, value, Array(args.dropFirst()), line: line)
    }

    // MARK: Tests

    private func test(_ name: String, _ value: JinjaValue, _ args: [JinjaValue], line: Int) throws -> Bool {
        func other() throws -> JinjaValue {
            guard let a = args.first else { throw JinjaError.type(message: "the test '\(name)' needs an argument", line: line) }
            return a
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value == .none && !value.isUndefined
        case "string": if case .string = value { return true } else { return false }
        case "number":
            switch value { case .int, .double, .bool: return true; default: return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true) && { if case .bool = value { return true } else { return false } }()
        case "false": return value == .bool(false) && { if case .bool = value { return true } else { return false } }()
        case "mapping": if case .object = value { return true } else { return false }
        case "iterable":
            switch value { case .undefined, .string, .array, .tuple, .object, .iterator: return true; default: return false }
        case "sequence":
            switch value { case .undefined, .string, .array, .tuple, .object: return true; default: return false }
        case "callable":
            switch value { case .function, .macro: return true; default: return false }
        case "equalto", "eq", "==": return value.pythonEquals(try other())
        case "ne", "!=": return !value.pythonEquals(try other())
        case "sameas":
            let o = try other()
            switch (value, o) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            default: return false
            }
        case "lt", "<", "lessthan": return try lessThan(value, try other(), op: "<", line: line)
        case "gt", ">", "greaterthan": return try lessThan(try other(), value, op: ">", line: line)
        case "le", "<=": return try !lessThan(try other(), value, op: "<=", line: line)
        case "ge", ">=": return try !lessThan(value, try other(), op: ">=", line: line)
        case "in": return try contains(try other(), value, line: line)
        case "lower": return value.pythonString == value.pythonString.lowercased()
        case "upper": return value.pythonString == value.pythonString.uppercased()
        case "odd", "even", "divisibleby":
            // value % 2 == 1, value % 2 == 0, value % num == 0, with Python's % (floats too).
            let divisor: JinjaValue = name == "divisibleby" ? try other() : .int(2)
            let remainder = try binary("%", value, divisor, line: line)
            return remainder.pythonEquals(.int(name == "odd" ? 1 : 0))
        default:
            throw JinjaError.unsupported(construct: "the test '\(name)'", line: line)
        }
    }

    // MARK: String helpers (Python's semantics, by code point)

    static func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0: return true
        default: return c.value > 0x7f && c.properties.isWhitespace
        }
    }

    static func strip(_ s: [Unicode.Scalar], chars: Set<Unicode.Scalar>?, left: Bool, right: Bool) -> String {
        let drop: (Unicode.Scalar) -> Bool = { c in chars.map { $0.contains(c) } ?? isPythonSpace(c) }
        var a = 0, b = s.count
        if left { while a < b, drop(s[a]) { a += 1 } }
        if right { while b > a, drop(s[b - 1]) { b -= 1 } }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s[a..<b])
        return String(out)
    }

    static func find(_ needle: [Unicode.Scalar], in haystack: [Unicode.Scalar], from start: Int = 0) -> Int? {
        if needle.isEmpty { return start <= haystack.count ? start : nil }
        guard haystack.count >= needle.count else { return nil }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0], Array(haystack[i..<i + needle.count]) == needle { return i }
            i += 1
        }
        return nil
    }

    static func split(_ s: [Unicode.Scalar], by sep: [Unicode.Scalar], maxsplit: Int) -> [String] {
        var parts: [String] = []
        var start = 0
        var splits = 0
        while maxsplit < 0 || splits < maxsplit, let i = find(sep, in: s, from: start), !sep.isEmpty {
            var part = String.UnicodeScalarView()
            part.append(contentsOf: s[start..<i])
            parts.append(String(part))
            start = i + sep.count
            splits += 1
        }
        var last = String.UnicodeScalarView()
        last.append(contentsOf: s[start...])
        parts.append(String(last))
        return parts
    }

    static func splitWhitespace(_ s: [Unicode.Scalar]) -> [String] {
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        for c in s {
            if isPythonSpace(c) {
                if !current.isEmpty { parts.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { parts.append(String(current)) }
        return parts
    }

    static func replace(_ s: [Unicode.Scalar], _ old: [Unicode.Scalar], _ new: String, count: Int) -> String {
        if old.isEmpty {
            // Python inserts `new` between every character (and at both ends).
            var out = ""
            var n = 0
            for c in s {
                if count < 0 || n < count { out += new; n += 1 }
                out.unicodeScalars.append(c)
            }
            if count < 0 || n < count { out += new }
            return out
        }
        return split(s, by: old, maxsplit: count).joined(separator: new)
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return String(first).uppercased() + String(String.UnicodeScalarView(s.unicodeScalars.dropFirst())).lowercased()
    }

    /// jinja2's `title` filter: split at runs of `-`, whitespace, `(`, `{`, `[`, `<`; each piece
    /// gets its first character upper-cased and the rest lower-cased.
    static func title(_ s: String) -> String {
        func isSeparator(_ c: Unicode.Scalar) -> Bool { c == "-" || c == "(" || c == "{" || c == "[" || c == "<" || isPythonSpace(c) }
        var out = ""
        var piece = String.UnicodeScalarView()
        var pieceIsSeparator = false
        func flush() {
            guard let first = piece.first else { return }
            out += String(first).uppercased() + String(String.UnicodeScalarView(piece.dropFirst())).lowercased()
            piece = String.UnicodeScalarView()
        }
        for c in s.unicodeScalars {
            let sep = isSeparator(c)
            if !piece.isEmpty && sep != pieceIsSeparator { flush() }
            pieceIsSeparator = sep
            piece.append(c)
        }
        flush()
        return out
    }

    static func sortKeys(_ v: JinjaValue) -> JinjaValue {
        switch v {
        case .array(let a), .tuple(let a): return .array(a.map(sortKeys))
        case .object(let o):
            let keys = o.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            return .object(JinjaObject(keys.map { ($0, sortKeys(o[$0] ?? JinjaValue.none)) }))
        default: return v
        }
    }

    // MARK: strftime_now

    static func strftime(_ format: String, _ date: Date, line: Int) throws -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        func pad(_ v: Int, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let month = months[max(0, min(11, (c.month ?? 1) - 1))]
        let day = days[max(0, min(6, (c.weekday ?? 1) - 1))]
        let hour = c.hour ?? 0
        var out = ""
        var chars = format.makeIterator()
        while let ch = chars.next() {
            guard ch == "%" else { out.append(ch); continue }
            guard let d = chars.next() else { out.append("%"); break }
            switch d {
            case "d": out += pad(c.day ?? 1)
            case "e": out += (c.day ?? 1) < 10 ? " \(c.day ?? 1)" : "\(c.day ?? 1)"
            case "m": out += pad(c.month ?? 1)
            case "Y": out += String(c.year ?? 1970)
            case "y": out += pad((c.year ?? 1970) % 100)
            case "b", "h": out += String(month.prefix(3))
            case "B": out += month
            case "a": out += String(day.prefix(3))
            case "A": out += day
            case "H": out += pad(hour)
            case "I": out += pad(hour % 12 == 0 ? 12 : hour % 12)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "M": out += pad(c.minute ?? 0)
            case "S": out += pad(c.second ?? 0)
            case "j": out += pad(dayOfYear, 3)
            case "%": out += "%"
            default: throw JinjaError.unsupported(construct: "the strftime directive %\(d)", line: line)
            }
        }
        return out
    }
}
