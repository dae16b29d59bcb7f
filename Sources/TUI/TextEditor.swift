/// A multi-line (or single-line) text editor: cursor movement, insert / delete, scrolling in both
/// directions, undo / redo (typing runs undo as one step), mouse click to place the cursor.
public final class TextEditor: View {
    public struct Position: Hashable, Sendable {
        public var line: Int
        public var column: Int
        public init(line: Int, column: Int) { self.line = line; self.column = column }
    }

    private struct UndoState { var lines: [[Character]]; var cursor: Position }
    private enum EditKind { case typing, deleting, other }

    private var lines: [[Character]] = [[]]
    public private(set) var cursor = Position(line: 0, column: 0)
    /// First visible line and first visible display column.
    public private(set) var scrollTop = 0
    public private(set) var scrollLeft = 0
    public var placeholder: String
    /// Single-line fields turn Enter into `onSubmit` instead of a new line.
    public var singleLine: Bool
    public var onChange: ((String) -> Void)?
    public var onSubmit: ((String) -> Void)?
    public var undoLimit = 200

    private var undoStack: [UndoState] = []
    private var redoStack: [UndoState] = []
    private var lastEdit: EditKind = .other
    private var viewSize = Size(width: 1, height: 1)

    public init(text: String = "", placeholder: String = "", singleLine: Bool = false) {
        self.placeholder = placeholder
        self.singleLine = singleLine
        setText(text)
    }

    public var acceptsFocus: Bool { true }

    public var text: String { lines.map { String($0) }.joined(separator: "\n") }
    public var lineCount: Int { lines.count }

    /// Replaces the text, clears undo history and moves the cursor to the end.
    public func setText(_ text: String) {
        let parts = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        lines = singleLine ? [Array(parts.joined(separator: [" "]))] : (parts.isEmpty ? [[]] : parts)
        cursor = Position(line: lines.count - 1, column: lines[lines.count - 1].count)
        undoStack.removeAll(); redoStack.removeAll(); lastEdit = .other
    }

    public var keyHints: [KeyHint] {
        [KeyHint("←↑↓→", "move"), KeyHint("Ctrl-Z", "undo"), KeyHint("Ctrl-Y", "redo")]
            + (singleLine ? [KeyHint("Enter", "submit")] : [])
    }

    // MARK: Editing

    public func insert(_ s: String) {
        guard !s.isEmpty else { return }
        record(s.count == 1 && s != "\n" ? .typing : .other)
        for c in s {
            if c == "\n" || c == "\r\n" {
                if singleLine { continue }
                let rest = Array(lines[cursor.line][cursor.column...])
                lines[cursor.line].removeSubrange(cursor.column...)
                lines.insert(rest, at: cursor.line + 1)
                cursor = Position(line: cursor.line + 1, column: 0)
            } else {
                lines[cursor.line].insert(c == "\t" ? " " : c, at: cursor.column)
                cursor.column += 1
            }
        }
        changed()
    }

    public func deleteBackward() {
        if cursor.column > 0 {
            record(.deleting)
            lines[cursor.line].remove(at: cursor.column - 1)
            cursor.column -= 1
        } else if cursor.line > 0 {
            record(.other)
            let line = lines.remove(at: cursor.line)
            cursor.line -= 1
            cursor.column = lines[cursor.line].count
            lines[cursor.line] += line
        } else { return }
        changed()
    }

    public func deleteForward() {
        if cursor.column < lines[cursor.line].count {
            record(.deleting)
            lines[cursor.line].remove(at: cursor.column)
        } else if cursor.line + 1 < lines.count {
            record(.other)
            let next = lines.remove(at: cursor.line + 1)
            lines[cursor.line] += next
        } else { return }
        changed()
    }

    public func killToEndOfLine() {
        guard cursor.column < lines[cursor.line].count else { deleteForward(); return }
        record(.other)
        lines[cursor.line].removeSubrange(cursor.column...)
        changed()
    }

    public func undo() {
        guard let s = undoStack.popLast() else { return }
        redoStack.append(UndoState(lines: lines, cursor: cursor))
        lines = s.lines; cursor = s.cursor; lastEdit = .other
        onChange?(text)
    }

    public func redo() {
        guard let s = redoStack.popLast() else { return }
        undoStack.append(UndoState(lines: lines, cursor: cursor))
        lines = s.lines; cursor = s.cursor; lastEdit = .other
        onChange?(text)
    }

    public var canUndo: Bool { !undoStack.isEmpty }

    /// Saves the state before an edit; consecutive edits of the same run share one undo step.
    private func record(_ kind: EditKind) {
        if kind != .other && kind == lastEdit { return }
        undoStack.append(UndoState(lines: lines, cursor: cursor))
        if undoStack.count > undoLimit { undoStack.removeFirst(undoStack.count - undoLimit) }
        redoStack.removeAll()
        lastEdit = kind
    }

    private func changed() { onChange?(text) }

    // MARK: Movement

    public func moveCursor(to p: Position) {
        let line = max(0, min(lines.count - 1, p.line))
        cursor = Position(line: line, column: max(0, min(lines[line].count, p.column)))
        lastEdit = .other
    }

    private func columnFor(displayX: Int, line: Int) -> Int {
        var x = 0
        for (i, c) in lines[line].enumerated() {
            let w = DisplayWidth.of(c)
            if x + w > displayX { return i }
            x += w
        }
        return lines[line].count
    }

    private func displayX(_ p: Position) -> Int { DisplayWidth.of(String(lines[p.line][..<p.column])) }

    private func moveVertically(_ delta: Int) {
        let x = displayX(cursor)
        let line = max(0, min(lines.count - 1, cursor.line + delta))
        cursor = Position(line: line, column: columnFor(displayX: x, line: line))
        lastEdit = .other
    }

    public func handle(_ event: InputEvent) -> EventResult {
        switch event {
        case .mouse(let m) where m.kind == .press && m.button == .left:
            let line = min(lines.count - 1, scrollTop + max(0, m.point.y))
            moveCursor(to: Position(line: line, column: columnFor(displayX: scrollLeft + max(0, m.point.x), line: line)))
            return .handled
        case .mouse(let m) where m.button == .wheelUp || m.button == .wheelDown:
            scrollTop = max(0, min(max(0, lines.count - viewSize.height), scrollTop + (m.button == .wheelUp ? -3 : 3)))
            return .handled
        case .key(let k):
            return handleKey(k)
        default:
            return .ignored
        }
    }

    private func handleKey(_ k: KeyEvent) -> EventResult {
        if k.modifiers == .control, case .character(let c) = k.key {
            switch c {
            case "z": undo()
            case "y": redo()
            case "a": moveCursor(to: Position(line: cursor.line, column: 0))
            case "e": moveCursor(to: Position(line: cursor.line, column: lines[cursor.line].count))
            case "k": killToEndOfLine()
            default: return .ignored
            }
            return .handled
        }
        if let c = k.printable { insert(String(c)); return .handled }
        switch k.key {
        case .enter:
            if singleLine { onSubmit?(text) } else { insert("\n") }
        case .backspace: deleteBackward()
        case .delete: deleteForward()
        case .left:
            if cursor.column > 0 { moveCursor(to: Position(line: cursor.line, column: cursor.column - 1)) }
            else if cursor.line > 0 { moveCursor(to: Position(line: cursor.line - 1, column: lines[cursor.line - 1].count)) }
        case .right:
            if cursor.column < lines[cursor.line].count { moveCursor(to: Position(line: cursor.line, column: cursor.column + 1)) }
            else if cursor.line + 1 < lines.count { moveCursor(to: Position(line: cursor.line + 1, column: 0)) }
        case .up:
            if singleLine || cursor.line == 0 { return .ignored }
            moveVertically(-1)
        case .down:
            if singleLine || cursor.line + 1 >= lines.count { return .ignored }
            moveVertically(1)
        case .home: moveCursor(to: Position(line: cursor.line, column: 0))
        case .end: moveCursor(to: Position(line: cursor.line, column: lines[cursor.line].count))
        case .pageUp: moveVertically(-max(1, viewSize.height - 1))
        case .pageDown: moveVertically(max(1, viewSize.height - 1))
        default: return .ignored
        }
        return .handled
    }

    // MARK: Drawing

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        viewSize = canvas.size
        let focused = context.isFocused(self)
        let base = Style(.text, on: singleLine && focused ? .selection : .surface)
        canvas.fill(style: base)
        guard canvas.width > 0, canvas.height > 0 else { return }
        // Keep the cursor visible.
        if cursor.line < scrollTop { scrollTop = cursor.line }
        if cursor.line >= scrollTop + canvas.height { scrollTop = cursor.line - canvas.height + 1 }
        let cx = displayX(cursor)
        if cx < scrollLeft { scrollLeft = max(0, cx - canvas.width / 4) }
        if cx >= scrollLeft + canvas.width { scrollLeft = cx - canvas.width + 1 + canvas.width / 4 }
        if scrollLeft > 0 && cx < canvas.width { scrollLeft = 0 }

        if lines.count == 1 && lines[0].isEmpty && !placeholder.isEmpty {
            canvas.write(placeholder, x: 0, y: 0, width: canvas.width, style: base.fg(.muted).with(.italic))
        }
        for row in 0..<canvas.height {
            let i = scrollTop + row
            guard i < lines.count else { break }
            var x = -scrollLeft
            for c in lines[i] {
                let w = DisplayWidth.of(c)
                if x >= canvas.width { break }
                if x >= 0 { canvas.put(c, x: x, y: row, style: base) }
                x += w
            }
        }
        if focused { canvas.showCursor(x: cx - scrollLeft, y: cursor.line - scrollTop) }
    }
}
