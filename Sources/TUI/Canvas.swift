/// A view's window onto the screen buffer: drawing uses coordinates local to `frame` and is
/// clipped to it, so a view cannot paint outside the rectangle its parent gave it.
public struct Canvas {
    public let buffer: ScreenBuffer
    /// Where this canvas sits on the screen (absolute, already clipped to the parent).
    public let frame: Rect
    /// Where local (0, 0) is on the screen.
    public let origin: Point
    /// The size the parent gave this canvas (before clipping); views lay out against it.
    public let size: Size

    public init(buffer: ScreenBuffer) {
        self.buffer = buffer
        frame = buffer.bounds
        origin = .zero
        size = buffer.size
    }

    private init(buffer: ScreenBuffer, frame: Rect, origin: Point, size: Size) {
        self.buffer = buffer; self.frame = frame; self.origin = origin; self.size = size
    }

    public var width: Int { size.width }
    public var height: Int { size.height }
    /// This canvas in absolute screen coordinates, before clipping.
    public var absoluteRect: Rect { Rect(origin: origin, size: size) }
    /// The drawable area in local coordinates.
    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    /// A canvas for `rect` (local coordinates), clipped to this one.
    public func child(_ rect: Rect) -> Canvas {
        let abs = Rect(x: origin.x + rect.x, y: origin.y + rect.y, width: rect.width, height: rect.height)
        return Canvas(buffer: buffer, frame: abs.intersection(frame), origin: abs.origin, size: abs.size)
    }

    @discardableResult
    public func write(_ text: some StringProtocol, x: Int, y: Int, style: Style) -> Int {
        buffer.write(text, x: origin.x + x, y: origin.y + y, style: style, clip: frame)
    }

    /// Writes `text` truncated (with "…") to `width` columns, optionally padding the rest with `style`.
    @discardableResult
    public func write(_ text: String, x: Int, y: Int, width: Int, style: Style, pad: Bool = false, alignRight: Bool = false) -> Int {
        let t = pad ? TextLayout.pad(text, to: width, alignRight: alignRight) : TextLayout.truncate(text, to: width)
        return write(t, x: x, y: y, style: style)
    }

    @discardableResult
    public func put(_ c: Character, x: Int, y: Int, style: Style) -> Int {
        buffer.put(c, x: origin.x + x, y: origin.y + y, style: style, clip: frame)
    }

    /// Fills `rect` (local; the whole canvas when nil) with `character` in `style`.
    public func fill(_ rect: Rect? = nil, _ character: Character = " ", style: Style) {
        let r = rect ?? bounds
        let abs = Rect(x: origin.x + r.x, y: origin.y + r.y, width: r.width, height: r.height).intersection(frame)
        buffer.fill(abs, with: Cell(character, style: style))
    }

    public func restyle(_ rect: Rect, _ transform: (Style) -> Style) {
        let abs = Rect(x: origin.x + rect.x, y: origin.y + rect.y, width: rect.width, height: rect.height).intersection(frame)
        buffer.restyle(abs, transform)
    }

    public func horizontalLine(x: Int, y: Int, length: Int, style: Style, character: Character = "─") {
        guard length > 0 else { return }
        for i in 0..<length { put(character, x: x + i, y: y, style: style) }
    }

    public func verticalLine(x: Int, y: Int, length: Int, style: Style, character: Character = "│") {
        guard length > 0 else { return }
        for i in 0..<length { put(character, x: x, y: y + i, style: style) }
    }

    /// Draws a rounded box around `rect` (local) with an optional title in the top edge, and returns
    /// the inner rectangle (local).
    @discardableResult
    public func box(_ rect: Rect? = nil, title: String? = nil, focused: Bool = false, background: StyleRole = .surface) -> Rect {
        let r = rect ?? bounds
        guard r.width >= 2, r.height >= 2 else { return Rect(x: r.x, y: r.y, width: 0, height: 0) }
        let style = Style(focused ? .borderFocused : .border, on: background, focused ? [.bold] : [])
        put("╭", x: r.x, y: r.y, style: style)
        put("╮", x: r.maxX - 1, y: r.y, style: style)
        put("╰", x: r.x, y: r.maxY - 1, style: style)
        put("╯", x: r.maxX - 1, y: r.maxY - 1, style: style)
        horizontalLine(x: r.x + 1, y: r.y, length: r.width - 2, style: style)
        horizontalLine(x: r.x + 1, y: r.maxY - 1, length: r.width - 2, style: style)
        verticalLine(x: r.x, y: r.y + 1, length: r.height - 2, style: style)
        verticalLine(x: r.maxX - 1, y: r.y + 1, length: r.height - 2, style: style)
        if let title, r.width > 4 {
            let t = TextLayout.truncate(" \(title) ", to: r.width - 4)
            write(t, x: r.x + 2, y: r.y, style: Style(focused ? .accent : .text, on: background, focused ? [.bold] : []))
        }
        return r.inset(by: 1)
    }

    /// Shows the terminal cursor at a local position (when inside this canvas).
    public func showCursor(x: Int, y: Int) {
        let p = Point(x: origin.x + x, y: origin.y + y)
        if frame.contains(p) { buffer.cursor = p }
    }

    /// Converts an absolute screen point (e.g. from a mouse event) to local coordinates.
    public func local(_ p: Point) -> Point { Point(x: p.x - origin.x, y: p.y - origin.y) }
}
