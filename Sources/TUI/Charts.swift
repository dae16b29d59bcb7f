import Foundation

/// Axis number formatting shared by the charts: short, fixed width friendly.
public enum NumberFormat {
    public static func short(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1e6 { return String(format: "%.1fM", v / 1e6) }
        if a >= 1e4 { return String(format: "%.0fk", v / 1e3) }
        if a >= 100 { return String(format: "%.0f", v) }
        if a >= 1 { return String(format: "%.2f", v) }
        if a >= 0.01 { return String(format: "%.3f", v) }
        return String(format: "%.1e", v)
    }

    /// Like `short`, but whole numbers below 10 000 print without decimals (step counts).
    public static func count(_ v: Double) -> String {
        v.isFinite && v == v.rounded() && abs(v) < 1e4 ? String(format: "%.0f", v) : short(v)
    }
}

/// One line on a chart.
public struct ChartSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// Colour role; defaults to the series' position (series_1, series_2, …).
    public var role: StyleRole?
    public init(_ name: String, points: [(x: Double, y: Double)] = [], role: StyleRole? = nil) {
        self.name = name; self.points = points; self.role = role
    }
    public init(_ name: String, values: [Double], role: StyleRole? = nil) {
        self.init(name, points: values.enumerated().map { (Double($0.offset), $0.element) }, role: role)
    }
}

/// A line chart drawn with braille dots (2×4 per cell): several series, y labels on the left,
/// x range below, a legend on top. `+` / `-` zoom to the last N points, `0` shows everything.
public final class LineChart: View {
    public var series: [ChartSeries]
    /// Show only the last `window` points of each series (nil: all).
    public var window: Int?
    public var minimumWindow = 8
    /// Fixed y range; nil fits the visible data.
    public var yRange: ClosedRange<Double>?
    public var emptyMessage = "No data yet"

    public init(series: [ChartSeries] = [], window: Int? = nil) {
        self.series = series
        self.window = window
    }

    public var acceptsFocus: Bool { true }
    public var keyHints: [KeyHint] { [KeyHint("+/-", "zoom"), KeyHint("0", "all points")] }

    private var longest: Int { series.map(\.points.count).max() ?? 0 }

    public func zoomIn() {
        let n = window ?? longest
        window = max(minimumWindow, n / 2)
    }

    public func zoomOut() {
        guard let w = window else { return }
        window = w * 2 >= longest ? nil : w * 2
    }

    public func handle(_ event: InputEvent) -> EventResult {
        switch event {
        case .key(let k) where k == .char("+") || k == .char("="): zoomIn(); return .handled
        case .key(let k) where k == .char("-"): zoomOut(); return .handled
        case .key(let k) where k == .char("0"): window = nil; return .handled
        case .mouse(let m) where m.button == .wheelUp: zoomIn(); return .handled
        case .mouse(let m) where m.button == .wheelDown: zoomOut(); return .handled
        default: return .ignored
        }
    }

    /// The points each series shows under the current zoom (finite values only).
    public func visiblePoints() -> [[(x: Double, y: Double)]] {
        series.map { s in
            let pts = window.map { Array(s.points.suffix($0)) } ?? s.points
            return pts.filter { $0.x.isFinite && $0.y.isFinite }
        }
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        let base = Style(.text, on: .surface)
        canvas.fill(style: base)
        guard canvas.width >= 12, canvas.height >= 4 else {
            canvas.write("chart: too small", x: 0, y: 0, width: canvas.width, style: base.fg(.muted))
            return
        }
        // Legend.
        var lx = 0
        for (i, s) in series.enumerated() {
            let role = s.role ?? .series(i + 1)
            lx += canvas.write("● ", x: lx, y: 0, style: Style(role, on: .surface))
            let last = s.points.last.map { " " + NumberFormat.short($0.y) } ?? ""
            lx += canvas.write(s.name + last + "  ", x: lx, y: 0, style: base.fg(.muted))
        }
        if let w = window {
            let z = "last \(w)"
            canvas.write(z, x: canvas.width - DisplayWidth.of(z), y: 0, style: base.fg(.accent))
        }

        let visible = visiblePoints()
        let all = visible.flatMap { $0 }
        guard !all.isEmpty else {
            canvas.write(emptyMessage, x: 0, y: canvas.height / 2, width: canvas.width, style: base.fg(.muted).with(.italic))
            return
        }
        var yMin = yRange?.lowerBound ?? all.map(\.y).min() ?? 0
        var yMax = yRange?.upperBound ?? all.map(\.y).max() ?? 1
        if yMax - yMin < 1e-12 { yMin -= 0.5; yMax += 0.5 }
        let xMin = all.map(\.x).min() ?? 0
        var xMax = all.map(\.x).max() ?? 1
        if xMax - xMin < 1e-12 { xMax = xMin + 1 }

        let labels = [yMax, (yMax + yMin) / 2, yMin].map(NumberFormat.short)
        let labelWidth = (labels.map { DisplayWidth.of($0) }.max() ?? 1) + 1
        let plot = Rect(x: labelWidth + 1, y: 1, width: canvas.width - labelWidth - 1, height: canvas.height - 2)
        guard plot.width > 1, plot.height > 1 else { return }

        // Axes.
        let axis = Style(.border, on: .surface)
        canvas.verticalLine(x: labelWidth, y: plot.y, length: plot.height, style: axis)
        canvas.horizontalLine(x: plot.x, y: plot.maxY, length: plot.width, style: axis)
        canvas.put("└", x: labelWidth, y: plot.maxY, style: axis)
        let rowsForLabels = [plot.y, plot.y + (plot.height - 1) / 2, plot.maxY - 1]
        for (label, row) in zip(labels, rowsForLabels) {
            canvas.write(TextLayout.pad(label, to: labelWidth - 1, alignRight: true), x: 0, y: row, style: base.fg(.muted))
            canvas.put("┤", x: labelWidth, y: row, style: axis)
        }
        let xl = NumberFormat.short(xMin), xr = NumberFormat.short(xMax)
        canvas.write(xl, x: plot.x, y: plot.maxY, style: base.fg(.muted))
        canvas.write(xr, x: plot.maxX - DisplayWidth.of(xr), y: plot.maxY, style: base.fg(.muted))

        // Dots: each series rasterised into a braille grid, later series on top.
        let dotW = plot.width * 2, dotH = plot.height * 4
        var bits = [UInt8](repeating: 0, count: plot.width * plot.height)
        var owner = [Int](repeating: -1, count: plot.width * plot.height)
        let toDot = { (p: (x: Double, y: Double)) -> (Int, Int) in
            let dx = Int(((p.x - xMin) / (xMax - xMin) * Double(dotW - 1)).rounded())
            let t = (min(max(p.y, yMin), yMax) - yMin) / (yMax - yMin)
            let dy = Int(((1 - t) * Double(dotH - 1)).rounded())
            return (dx, dy)
        }
        func set(_ x: Int, _ y: Int, _ s: Int) {
            guard x >= 0, y >= 0, x < dotW, y < dotH else { return }
            let cell = (y / 4) * plot.width + x / 2
            let dotBits: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]
            bits[cell] |= dotBits[x % 2][y % 4]
            owner[cell] = s
        }
        for (si, pts) in visible.enumerated() {
            var prev: (Int, Int)?
            for p in pts {
                let d = toDot(p)
                if let q = prev { line(from: q, to: d) { x, y in set(x, y, si) } } else { set(d.0, d.1, si) }
                prev = d
            }
        }
        for cy in 0..<plot.height {
            for cx in 0..<plot.width where bits[cy * plot.width + cx] != 0 {
                let i = cy * plot.width + cx
                guard let scalar = Unicode.Scalar(0x2800 + UInt32(bits[i])) else { continue }
                let role = series[owner[i]].role ?? .series(owner[i] + 1)
                canvas.put(Character(scalar), x: plot.x + cx, y: plot.y + cy, style: Style(role, on: .surface))
            }
        }
    }

    private func line(from a: (Int, Int), to b: (Int, Int), _ plot: (Int, Int) -> Void) {
        var (x0, y0) = a
        let (x1, y1) = b
        let dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1
        let dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            plot(x0, y0)
            if x0 == x1 && y0 == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x0 += sx }
            if e2 <= dx { err += dx; y0 += sy }
        }
    }
}

/// A one-row chart of the latest values with block characters ▁▂▃▄▅▆▇█.
public final class Sparkline: View {
    public var values: [Double]
    public var role: StyleRole
    public var label: String

    public init(_ label: String = "", values: [Double] = [], role: StyleRole = .series(1)) {
        self.label = label; self.values = values; self.role = role
    }

    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// The block characters for `values` scaled between their min and max.
    public static func bars(_ values: [Double]) -> String {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return "" }
        return String(values.map { v -> Character in
            guard v.isFinite else { return " " }
            let t = hi - lo < 1e-12 ? 0.5 : (v - lo) / (hi - lo)
            return blocks[min(7, max(0, Int((t * 7).rounded())))]
        })
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        let base = Style(.text, on: .surface)
        canvas.fill(style: base)
        var x = 0
        if !label.isEmpty { x = canvas.write(label + " ", x: 0, y: 0, style: base.fg(.muted)) }
        let last = values.last.map { " " + NumberFormat.short($0) } ?? ""
        let room = canvas.width - x - DisplayWidth.of(last)
        guard room > 0 else { return }
        canvas.write(Self.bars(Array(values.suffix(room))), x: x, y: 0, style: Style(role, on: .surface))
        canvas.write(last, x: canvas.width - DisplayWidth.of(last), y: 0, style: base)
    }
}
