/// A changed cell between two frames.
public struct CellChange: Hashable, Sendable {
    public var point: Point
    public var cell: Cell
}

/// A grid of cells: what one frame shows. The application draws each frame into a fresh buffer
/// and sends the backend only `changes(from:)` the previous one (damage tracking).
public final class ScreenBuffer {
    public private(set) var size: Size
    public private(set) var cells: [Cell]
    /// Where the terminal cursor should be shown after drawing (a text editor sets it), or nil.
    public var cursor: Point?

    public init(size: Size, fill: Cell = .blank()) {
        self.size = Size(width: max(0, size.width), height: max(0, size.height))
        cells = Array(repeating: fill, count: self.size.width * self.size.height)
    }

    public var bounds: Rect { Rect(size: size) }

    public func copy() -> ScreenBuffer {
        let b = ScreenBuffer(size: .zero)
        b.size = size; b.cells = cells; b.cursor = cursor
        return b
    }

    public subscript(x: Int, y: Int) -> Cell {
        guard x >= 0, y >= 0, x < size.width, y < size.height else { return .blank() }
        return cells[y * size.width + x]
    }

    /// Puts one grapheme at (x, y), keeping double-width pairs whole: a wide grapheme that would
    /// stick out of `clip` is replaced by a space, and half-overwritten wide neighbours are blanked.
    /// Returns the columns advanced (0 for zero-width input).
    @discardableResult
    public func put(_ grapheme: Character, x: Int, y: Int, style: Style, clip: Rect? = nil) -> Int {
        let area = clip.map { $0.intersection(bounds) } ?? bounds
        var w = DisplayWidth.of(grapheme)
        if w == 0 { return 0 }
        guard area.contains(Point(x: x, y: y)) else { return w }
        var g = grapheme
        if w == 2 && x + 1 >= area.maxX { g = " "; w = 1 }
        // Control characters and other zero-width starts never reach here; tabs become spaces upstream.
        breakWide(at: x, y: y)
        if w == 2 { breakWide(at: x + 1, y: y) }
        let i = y * size.width + x
        cells[i] = Cell(grapheme: g, style: style, width: UInt8(w))
        if w == 2 { cells[i + 1] = .continuation(style) }
        return w
    }

    /// Writes `text` from (x, y) rightwards, clipped to `clip`; returns the columns used.
    @discardableResult
    public func write(_ text: some StringProtocol, x: Int, y: Int, style: Style, clip: Rect? = nil) -> Int {
        let area = clip.map { $0.intersection(bounds) } ?? bounds
        var cx = x
        for c in text {
            if cx >= area.maxX { break }
            let ch: Character = (c == "\t") ? " " : c
            cx += put(ch, x: cx, y: y, style: style, clip: area)
        }
        return cx - x
    }

    public func fill(_ rect: Rect, with cell: Cell = .blank()) {
        let r = rect.intersection(bounds)
        guard !r.isEmpty else { return }
        for y in r.y..<r.maxY {
            breakWide(at: r.x, y: y)
            breakWide(at: r.maxX - 1, y: y)
            for x in r.x..<r.maxX { cells[y * size.width + x] = cell }
        }
    }

    /// Sets the style of existing cells in `rect` without changing their text.
    public func restyle(_ rect: Rect, _ transform: (Style) -> Style) {
        let r = rect.intersection(bounds)
        guard !r.isEmpty else { return }
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX { cells[y * size.width + x].style = transform(cells[y * size.width + x].style) }
        }
    }

    /// If (x, y) is one half of a wide grapheme, blanks both halves so no half-character survives.
    private func breakWide(at x: Int, y: Int) {
        guard x >= 0, y >= 0, x < size.width, y < size.height else { return }
        let i = y * size.width + x
        let c = cells[i]
        if c.isContinuation, x > 0 {
            cells[i - 1] = .blank(cells[i - 1].style)
            cells[i] = .blank(c.style)
        } else if c.width == 2, x + 1 < size.width {
            cells[i] = .blank(c.style)
            cells[i + 1] = .blank(cells[i + 1].style)
        }
    }

    /// The cells that differ from `previous`, row by row. Continuation cells are not reported on
    /// their own: the wide cell before them covers both columns. A different size means every cell.
    public func changes(from previous: ScreenBuffer?) -> [CellChange] {
        var out: [CellChange] = []
        let all = previous == nil || previous?.size != size
        for y in 0..<size.height {
            for x in 0..<size.width {
                let i = y * size.width + x
                let c = cells[i]
                if c.isContinuation {
                    // A continuation that changed while its lead did not (e.g. lead was wide before too
                    // but the cell after was something else) is repaired by re-sending the lead.
                    if !all, let p = previous, p.cells[i] != c, x > 0, p.cells[i - 1] == cells[i - 1] {
                        out.append(CellChange(point: Point(x: x - 1, y: y), cell: cells[i - 1]))
                    }
                    continue
                }
                if all || previous?.cells[i] != c {
                    out.append(CellChange(point: Point(x: x, y: y), cell: c))
                }
            }
        }
        return out
    }

    /// The text of row `y` (continuation cells omitted, so wide characters read naturally).
    public func line(_ y: Int) -> String {
        guard y >= 0, y < size.height else { return "" }
        var s = ""
        for x in 0..<size.width where !cells[y * size.width + x].isContinuation {
            s.append(cells[y * size.width + x].grapheme)
        }
        return s
    }
}
