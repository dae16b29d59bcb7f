import Foundation

/// A scrolling table with a selected row and sorting by any column: `s` picks the next sort
/// column, `r` reverses, a click on a header sorts by it. Cells that parse as numbers sort numerically.
public final class Table: View {
    public struct Column: Sendable {
        public var title: String
        public var width: LayoutConstraint
        public var alignRight: Bool
        public init(_ title: String, width: LayoutConstraint = .weight(1), alignRight: Bool = false) {
            self.title = title; self.width = width; self.alignRight = alignRight
        }
    }

    public var columns: [Column]
    public private(set) var rows: [[String]] = []
    /// Row indices (into `rows`) in display order.
    public private(set) var order: [Int] = []
    public private(set) var sortColumn: Int?
    public private(set) var ascending = true
    /// Position of the selection in display order.
    public private(set) var cursor = 0
    public private(set) var scrollTop = 0
    public var emptyMessage = "No rows"
    public var onSelect: ((Int) -> Void)?
    public var onActivate: ((Int) -> Void)?
    private var visibleRows = 1
    private var headerSpans: [(start: Int, end: Int)] = []

    public init(columns: [Column], rows: [[String]] = []) {
        self.columns = columns
        setRows(rows)
    }

    public var acceptsFocus: Bool { true }
    public var keyHints: [KeyHint] { [KeyHint("↑↓", "select"), KeyHint("s", "sort column"), KeyHint("r", "reverse"), KeyHint("Enter", "open")] }

    /// The selected row's index in `rows`, or nil when empty.
    public var selectedRow: Int? { order.indices.contains(cursor) ? order[cursor] : nil }

    /// Replaces the rows, keeping the selection on the same row index when it still exists.
    public func setRows(_ newRows: [[String]]) {
        let keep = selectedRow
        rows = newRows
        resort()
        if let keep, let i = order.firstIndex(of: keep) { cursor = i } else { cursor = min(cursor, max(0, order.count - 1)) }
    }

    public func sort(by column: Int?, ascending: Bool = true) {
        let keep = selectedRow
        sortColumn = column.flatMap { columns.indices.contains($0) ? $0 : nil }
        self.ascending = ascending
        resort()
        if let keep, let i = order.firstIndex(of: keep) { cursor = i }
    }

    public func select(displayIndex: Int) {
        guard !order.isEmpty else { cursor = 0; return }
        let new = max(0, min(order.count - 1, displayIndex))
        if new != cursor { cursor = new; if let r = selectedRow { onSelect?(r) } }
    }

    private func resort() {
        order = Array(rows.indices)
        guard let c = sortColumn else { return }
        let asc = ascending
        order.sort { a, b in
            let x = rows[a].indices.contains(c) ? rows[a][c] : ""
            let y = rows[b].indices.contains(c) ? rows[b][c] : ""
            let less: Bool
            if let dx = Double(x), let dy = Double(y) {
                if dx == dy { return a < b }
                less = dx < dy
            } else {
                let cmp = x.localizedStandardCompare(y)
                if cmp == .orderedSame { return a < b }
                less = cmp == .orderedAscending
            }
            return asc ? less : !less
        }
    }

    public func handle(_ event: InputEvent) -> EventResult {
        switch event {
        case .key(let k) where k.modifiers.isEmpty:
            switch k.key {
            case .up: select(displayIndex: cursor - 1)
            case .down: select(displayIndex: cursor + 1)
            case .pageUp: select(displayIndex: cursor - max(1, visibleRows - 1))
            case .pageDown: select(displayIndex: cursor + max(1, visibleRows - 1))
            case .home: select(displayIndex: 0)
            case .end: select(displayIndex: order.count - 1)
            case .character("s"):
                let next = sortColumn.map { $0 + 1 < columns.count ? $0 + 1 : nil } ?? 0
                sort(by: next, ascending: ascending)
            case .character("r"): sort(by: sortColumn ?? 0, ascending: !ascending)
            case .enter:
                guard let r = selectedRow else { return .ignored }
                onActivate?(r)
            default: return .ignored
            }
            return .handled
        case .mouse(let m) where m.kind == .press && m.button == .left:
            if m.point.y == 0 {
                guard let c = headerSpans.firstIndex(where: { m.point.x >= $0.start && m.point.x < $0.end }) else { return .ignored }
                sort(by: c, ascending: sortColumn == c ? !ascending : true)
            } else {
                let i = scrollTop + m.point.y - 1
                guard i < order.count else { return .handled }
                select(displayIndex: i)
            }
            return .handled
        case .mouse(let m) where m.button == .wheelUp || m.button == .wheelDown:
            select(displayIndex: cursor + (m.button == .wheelUp ? -3 : 3))
            return .handled
        default:
            return .ignored
        }
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        let focused = context.isFocused(self)
        canvas.fill(style: Style(.text, on: .surface))
        guard canvas.height > 0, canvas.width > 0 else { return }
        visibleRows = max(1, canvas.height - 1)
        // The last column is kept for the scroll position when rows overflow.
        let overflow = order.count > visibleRows
        let columnsWidth = canvas.width - (overflow ? 1 : 0)
        // One space between columns.
        var constraints: [LayoutConstraint] = []
        for (i, c) in columns.enumerated() {
            constraints.append(c.width)
            if i < columns.count - 1 { constraints.append(.fixed(1)) }
        }
        let spans = Layout.distribute(columnsWidth, constraints).enumerated().filter { $0.offset % 2 == 0 }.map { $0.element }
        headerSpans = spans.map { ($0.offset, $0.offset + $0.length) }
        for (i, col) in columns.enumerated() {
            // The sort arrow stays visible even when the title has to be cut.
            let arrow = sortColumn == i ? (ascending ? "▲" : "▼") : ""
            let header = arrow.isEmpty ? col.title : TextLayout.truncate(col.title, to: max(0, spans[i].length - 2)) + " " + arrow
            canvas.write(header, x: spans[i].offset, y: 0, width: spans[i].length,
                         style: Style(sortColumn == i ? .accent : .muted, on: .surface, [.bold]), pad: true, alignRight: col.alignRight)
        }
        if cursor < scrollTop { scrollTop = cursor }
        if cursor >= scrollTop + visibleRows { scrollTop = cursor - visibleRows + 1 }
        scrollTop = max(0, min(scrollTop, max(0, order.count - visibleRows)))
        if order.isEmpty {
            canvas.write(emptyMessage, x: 0, y: 1, width: canvas.width, style: Style(.muted, on: .surface, [.italic]))
            return
        }
        for line in 0..<visibleRows {
            let di = scrollTop + line
            guard di < order.count else { break }
            let row = rows[order[di]]
            let selected = di == cursor
            let style = selected ? Style(.text, on: focused ? .selection : .border, focused ? [.bold] : []) : Style(.text, on: .surface)
            if selected { canvas.fill(Rect(x: 0, y: line + 1, width: columnsWidth, height: 1), style: style) }
            for (i, col) in columns.enumerated() {
                let text = row.indices.contains(i) ? row[i] : ""
                canvas.write(text, x: spans[i].offset, y: line + 1, width: spans[i].length, style: style, pad: true, alignRight: col.alignRight)
            }
        }
        if overflow {
            // Scroll position on the right edge.
            let pos = visibleRows <= 1 ? 0 : scrollTop * (visibleRows - 1) / max(1, order.count - visibleRows)
            canvas.put("┃", x: canvas.width - 1, y: 1 + pos, style: Style(.muted, on: .surface))
        }
    }
}
