/// A cell position: `x` is the column, `y` the row, both from the top-left corner (0, 0).
public struct Point: Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public init(x: Int, y: Int) { self.x = x; self.y = y }
    public static let zero = Point(x: 0, y: 0)
    public var description: String { "(\(x), \(y))" }
}

/// A size in cells.
public struct Size: Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
    public static let zero = Size(width: 0, height: 0)
    public var description: String { "\(width)×\(height)" }
}

/// A rectangle of cells. Width and height are never negative: constructors clamp them to zero, so
/// layout arithmetic on a too-small terminal yields empty rectangles instead of traps.
public struct Rect: Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int { didSet { width = max(0, width) } }
    public var height: Int { didSet { height = max(0, height) } }

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y
        self.width = max(0, width); self.height = max(0, height)
    }
    public init(origin: Point = .zero, size: Size) {
        self.init(x: origin.x, y: origin.y, width: size.width, height: size.height)
    }

    public static let zero = Rect(x: 0, y: 0, width: 0, height: 0)
    public var origin: Point { Point(x: x, y: y) }
    public var size: Size { Size(width: width, height: height) }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width == 0 || height == 0 }
    public var description: String { "[\(x),\(y) \(width)×\(height)]" }

    public func contains(_ p: Point) -> Bool { p.x >= x && p.x < maxX && p.y >= y && p.y < maxY }

    public func intersection(_ other: Rect) -> Rect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(maxX, other.maxX), y1 = min(maxY, other.maxY)
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// The rectangle shrunk by the given margins on each side.
    public func inset(top: Int = 0, left: Int = 0, bottom: Int = 0, right: Int = 0) -> Rect {
        Rect(x: x + left, y: y + top, width: width - left - right, height: height - top - bottom)
    }
    public func inset(by n: Int) -> Rect { inset(top: n, left: n, bottom: n, right: n) }

    /// Splits into consecutive rows (top to bottom) sized by `constraints`.
    public func rows(_ constraints: [LayoutConstraint]) -> [Rect] {
        Layout.distribute(height, constraints).map { Rect(x: x, y: y + $0.offset, width: width, height: $0.length) }
    }
    /// Splits into consecutive columns (left to right) sized by `constraints`.
    public func columns(_ constraints: [LayoutConstraint]) -> [Rect] {
        Layout.distribute(width, constraints).map { Rect(x: x + $0.offset, y: y, width: $0.length, height: height) }
    }
    /// A rectangle of at most `size`, centred inside this one.
    public func centered(_ size: Size) -> Rect {
        let w = min(size.width, width), h = min(size.height, height)
        return Rect(x: x + (width - w) / 2, y: y + (height - h) / 2, width: w, height: h)
    }
}

/// How one part of a split claims space.
public enum LayoutConstraint: Hashable, Sendable {
    /// Exactly `n` cells (fewer when the whole does not fit).
    case fixed(Int)
    /// A share of what the fixed parts leave, proportional to the weight among all weights.
    case weight(Int)
    /// A percentage of the whole length (taken before weights share the rest).
    case percent(Int)
    /// A weight of 1 that never goes below `n` cells while space allows.
    case minimum(Int)
}

public enum Layout {
    /// Lengths and offsets for `constraints` over `total` cells. Fixed and percent parts are taken
    /// first (shrunk in order when they overflow); weights share the remainder, and leftover cells
    /// from rounding go to the earliest weighted parts so the parts always tile `total` exactly.
    public static func distribute(_ total: Int, _ constraints: [LayoutConstraint]) -> [(offset: Int, length: Int)] {
        let total = max(0, total)
        var lengths = [Int](repeating: 0, count: constraints.count)
        var remaining = total
        for (i, c) in constraints.enumerated() {
            switch c {
            case .fixed(let n):
                lengths[i] = min(max(0, n), remaining)
            case .percent(let p):
                lengths[i] = min(total * max(0, min(100, p)) / 100, remaining)
            case .minimum(let n):
                lengths[i] = min(max(0, n), remaining)
            case .weight:
                continue
            }
            remaining -= lengths[i]
        }
        var weights = constraints.map { c -> Int in
            switch c {
            case .weight(let w): return max(0, w)
            case .minimum: return 1
            default: return 0
            }
        }
        // A .minimum part already holds its floor; it only joins the share if its share is larger.
        for (i, c) in constraints.enumerated() {
            if case .minimum = c { weights[i] = 1; remaining += lengths[i]; lengths[i] = 0 }
        }
        let weightSum = weights.reduce(0, +)
        if weightSum > 0 && remaining > 0 {
            var given = 0
            for i in constraints.indices where weights[i] > 0 {
                lengths[i] = remaining * weights[i] / weightSum
                given += lengths[i]
            }
            var extra = remaining - given
            for i in constraints.indices where weights[i] > 0 && extra > 0 {
                lengths[i] += 1; extra -= 1
            }
            // Raise minimums back to their floor by taking from the largest weighted parts.
            for (i, c) in constraints.enumerated() {
                guard case .minimum(let floor) = c, lengths[i] < floor else { continue }
                var need = min(floor, total) - lengths[i]
                while need > 0 {
                    guard let donor = constraints.indices
                        .filter({ j in j != i && weights[j] > 0 && lengths[j] > minimumFloor(constraints[j]) })
                        .max(by: { lengths[$0] < lengths[$1] }) else { break }
                    lengths[donor] -= 1; lengths[i] += 1; need -= 1
                }
            }
        }
        var result: [(offset: Int, length: Int)] = []
        var offset = 0
        for l in lengths { result.append((offset, l)); offset += l }
        return result
    }

    private static func minimumFloor(_ c: LayoutConstraint) -> Int {
        if case .minimum(let n) = c { return n }
        return 0
    }
}
