import Foundation
import Testing
@testable import TUI
import TUITesting

@Suite struct TextEditorTests {
    @Test func typingNewlinesAndWideCharacters() {
        let editor = TextEditor()
        let h = harness(editor, 16, 3)
        h.type("hello")
        h.press(.enter)
        h.type("wörld 漢字")
        #expect(editor.text == "hello\nwörld 漢字")
        expectSnapshot(h.text, "hello\nwörld 漢字\n", "editor-typing")
        #expect(h.backend.cursor == Point(x: 10, y: 1))
    }

    @Test func undoRedoGroupsTypingRuns() {
        let editor = TextEditor(text: "ab")
        let h = harness(editor, 10, 2)
        h.type("cd")
        h.press(.backspace)
        #expect(editor.text == "abc")
        h.press(.character("z"), .control)   // undo the deletion
        #expect(editor.text == "abcd")
        h.press(.character("z"), .control)   // undo the typing run as one step
        #expect(editor.text == "ab")
        h.press(.character("y"), .control)
        #expect(editor.text == "abcd")
    }

    @Test func editingAcrossLines() {
        let editor = TextEditor(text: "one\ntwo")
        let h = harness(editor, 10, 3)
        h.press(.home)
        h.press(.backspace)                  // joins with the line above
        #expect(editor.text == "onetwo")
        #expect(editor.cursor == TextEditor.Position(line: 0, column: 3))
        h.press(.character("k"), .control)   // kill to end of line
        #expect(editor.text == "one")
        h.press(.left); h.press(.delete)
        #expect(editor.text == "on")
    }

    @Test func scrollsToKeepTheCursorVisible() {
        let editor = TextEditor(text: (1...10).map { "line \($0)" }.joined(separator: "\n"))
        let h = harness(editor, 12, 3)
        expectSnapshot(h.text, "line 8\nline 9\nline 10", "editor-scroll-bottom")
        for _ in 0..<9 { h.press(.up) }
        expectSnapshot(h.text, "line 1\nline 2\nline 3", "editor-scroll-top")
        h.click(2, 1)
        #expect(editor.cursor == TextEditor.Position(line: 1, column: 2))
        // Horizontal scrolling for a long line.
        let wide = TextEditor(text: "abcdefghijklmnopqrstuvwxyz")
        let w = harness(wide, 10, 1)
        #expect(w.line(0).hasSuffix("z"))
        #expect(w.backend.cursor?.x == 7)     // scrolled with a quarter of the width to spare
    }

    @Test func singleLineSubmitsAndShowsPlaceholder() {
        let field = TextEditor(placeholder: "search", singleLine: true)
        var submitted: String?
        field.onSubmit = { submitted = $0 }
        let h = harness(field, 10, 1)
        expectSnapshot(h.text, "search", "field-placeholder")
        h.type("hi")
        h.press(.enter)
        #expect(submitted == "hi")
        #expect(field.lineCount == 1)
    }
}

@Suite struct SliderTests {
    @Test func keyboardMouseAndLiveValue() {
        let slider = Slider("temp", value: 0.7, range: 0...2, step: 0.1)
        var seen: [Double] = []
        slider.onChange = { seen.append($0) }
        let h = harness(slider, 30, 1)
        expectSnapshot(h.text, "temp ━━━━━━━●──────────── 0.70", "slider")
        h.press(.right)
        #expect(slider.value == 0.8)
        h.press(.pageDown)
        #expect(slider.value == 0)
        h.press(.end)
        #expect(slider.value == 2)
        // Drag from the start of the track to its middle: the value follows the pointer.
        h.drag(from: Point(x: 5, y: 0), to: Point(x: 15, y: 0))
        #expect(abs(slider.value - 1.0) < 0.11)
        #expect(seen.count >= 4)
        #expect(seen.last == slider.value)
        h.press(.home)
        expectSnapshot(h.text, "temp ●─────────────────── 0.00", "slider-min")
    }

    @Test func valuesSnapToTheStepAndRange() {
        let s = Slider("k", value: 41.7, range: 1...100, step: 1)
        #expect(s.value == 42)
        s.set(500); #expect(s.value == 100)
        s.set(.nan); #expect(s.value == 100)
    }
}

@Suite struct TableTests {
    func table() -> Table {
        Table(columns: [Table.Column("name"), Table.Column("score", width: .fixed(6), alignRight: true)],
              rows: [["alpha", "0.5"], ["beta", "10"], ["gamma", "2"], ["delta", "7.25"]])
    }

    @Test func scrollingSelectionAndSorting() {
        let t = table()
        let h = harness(t, 20, 3)
        expectSnapshot(h.text, "name          score\nalpha           0.5┃\nbeta             10", "table")
        h.press(.down); h.press(.down)
        #expect(t.selectedRow == 2)
        expectSnapshot(h.text, "name          score\nbeta             10┃\ngamma             2", "table-scrolled")
        h.press(.character("s"))            // sort by name
        #expect(t.order == [0, 1, 3, 2])
        #expect(t.selectedRow == 2)          // selection follows the row
        h.press(.character("s"))            // then by score, numerically
        #expect(t.order == [0, 2, 3, 1])
        h.press(.character("r"))
        #expect(t.order == [1, 3, 2, 0])
        expectSnapshot(h.text, "name         sco… ▼\ndelta          7.25┃\ngamma             2", "table-sorted")
    }

    @Test func headerClickSortsAndRowClickSelects() {
        let t = table()
        let h = harness(t, 20, 6)
        h.click(1, 0)
        #expect(t.sortColumn == 0 && t.ascending)
        h.click(1, 0)
        #expect(!t.ascending)
        h.click(3, 2)
        #expect(t.selectedRow == t.order[1])
        var opened: Int?
        t.onActivate = { opened = $0 }
        h.press(.enter)
        #expect(opened == t.order[1])
        let empty = Table(columns: [Table.Column("x")])
        let e = harness(empty, 10, 2)
        expectSnapshot(e.text, "x\nNo rows", "table-empty")
    }
}

@Suite struct ChartTests {
    @Test func brailleLinesAxesAndLegend() {
        let chart = LineChart(series: [
            ChartSeries("loss", values: [4, 3, 2.5, 2, 1.8, 1.5, 1.4, 1.2]),
            ChartSeries("val", values: [4, 3.5, 3, 2.8, 2.7, 2.6, 2.6, 2.5]),
        ])
        let h = harness(chart, 30, 7)
        expectSnapshot(h.text, """
            ● loss 1.20  ● val 2.50
            4.00 ┤⠙⢖⠤⣀
                 │  ⠑⢄⠉⠢⢄⣀⡀
            2.60 ┤    ⠉⠒⠤⣀⠈⠉⠉⠉⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠤⠤
                 │        ⠉⠒⠤⠤⣀⣀⡀
            1.20 ┤              ⠈⠉⠑⠒⠢⠤⠤⠤⣀⣀
                 └0───────────────────7.00
            """, "chart")
        let fg = Snapshot.foregroundRoles(h.screen)
        #expect(fg.contains("1") && fg.contains("2"))
    }

    @Test func zoomShowsTheLastPoints() {
        let chart = LineChart(series: [ChartSeries("x", values: (0..<100).map(Double.init))])
        let h = harness(chart, 30, 6)
        h.press(.character("+"))
        #expect(chart.window == 50)
        #expect(chart.visiblePoints()[0].first?.x == 50)
        h.press(.character("+")); h.press(.character("+")); h.press(.character("+"))
        #expect(chart.window == 8)          // never below the minimum
        #expect(h.text.contains("last 8"))
        h.press(.character("-"))
        #expect(chart.window == 16)
        h.press(.character("0"))
        #expect(chart.window == nil)
    }

    @Test func emptyAndNonFiniteData() {
        let chart = LineChart(series: [ChartSeries("loss", values: [.nan, .infinity])])
        let h = harness(chart, 30, 6)
        #expect(h.text.contains("No data yet"))
        #expect(Sparkline.bars([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.bars([3, 3]) == "▅▅")
        #expect(Sparkline.bars([]) == "")
    }

    @Test func sparkline() {
        let s = Sparkline("tok/s", values: [1, 5, 3, 8])
        let h = harness(s, 16, 1)
        expectSnapshot(h.text, "tok/s ▁▅▃█  8.00", "sparkline")
    }
}

@Suite struct ProgressTests {
    @Test func percentageCountsAndEta() {
        let bar = ProgressBar("train", total: 200, unit: "steps")
        let h = harness(bar, 50, 1)
        bar.update(completed: 0, now: 10)
        bar.update(completed: 50, now: 20)    // 5 steps/s → 150 left = 30 s
        #expect(bar.eta == 30)
        h.settle()
        expectSnapshot(h.text, "train ███▊░░░░░░░░░░░  25%  50/200 steps  ETA 0:30", "progress")
        bar.update(completed: 200, now: 50)
        h.settle()
        #expect(h.text.contains("done in 0:40"))
        #expect(ProgressBar.duration(3725) == "1:02:05")
        #expect(ProgressBar.duration(65) == "1:05")
    }
}

@Suite struct LogViewTests {
    @Test func followsTheTailAndScrollsBack() {
        let log = LogView(capacity: 50)
        for i in 1...10 { log.append("line \(i)", role: i == 10 ? .error : .text) }
        let h = harness(log, 20, 3)
        expectSnapshot(h.text, "line 8\nline 9\nline 10", "log-tail")
        #expect(Snapshot.foregroundRoles(h.screen).split(separator: "\n")[2].hasPrefix("eeeeeee"))
        h.press(.pageUp)
        #expect(!log.isFollowing)
        expectSnapshot(h.text, "line 6\nline 7\nline 8           ↑2", "log-scrolled")
        log.append("line 11")
        h.settle()
        #expect(h.text.hasPrefix("line 6"))     // stays put while scrolled back
        h.press(.end)
        #expect(h.text.hasSuffix("line 11"))
        h.press(.home)
        #expect(h.text.hasPrefix("line 1\n"))
    }

    @Test func wrapsLongLinesAndKeepsCapacity() {
        let log = LogView(capacity: 3)
        for i in 1...5 { log.append("entry \(i)") }
        #expect(log.entries.map(\.text) == ["entry 3", "entry 4", "entry 5"])
        log.append("a long line that wraps")
        let h = harness(log, 10, 4)
        expectSnapshot(h.text, "entry 5\na long\nline that\nwraps", "log-wrap")
    }
}

/// A dialog whose message is taller than the screen scrolls (an eval example's full texts in the
/// Evaluate drill-down), shows where it is, and still confirms with its buttons.
@Suite struct ModalDialogScrollTests {
    @Test func longMessagesScrollWithKeysAndWheel() {
        let message = (1...40).map { "line \($0)" }.joined(separator: "\n")
        var chosen: Int?? = nil
        let h = harness(Label("behind"), 60, 16)
        h.app.present(ModalDialog(title: "Example 7", message: message, buttons: ["Close"]) { chosen = $0 })
        h.settle()
        #expect(h.text.contains("line 1\n") || h.text.contains("line 1 "))
        #expect(!h.text.contains("line 40"))
        #expect(h.text.contains("↑↓ 1–"))
        h.press(.end)
        #expect(h.text.contains("line 40"))
        #expect(!h.text.contains("line 1 "))
        h.press(.home)
        h.press(.down)
        h.press(.down)
        #expect(h.text.contains("↑↓ 3–"))
        h.send(.mouse(MouseEvent(.press, .wheelDown, at: Point(x: 30, y: 8))))
        #expect(h.text.contains("↑↓ 6–"))
        h.press(.enter)
        #expect(chosen == .some(0))
    }

    @Test func shortMessagesDoNotScroll() {
        let h = harness(Label("behind"), 60, 16)
        let dialog = ModalDialog(title: "Quit?", message: "A training run is active.", buttons: ["Quit", "Stay"])
        h.app.present(dialog)
        h.settle()
        h.press(.down)
        #expect(dialog.scroll == 0)
        #expect(!h.text.contains("↑↓"))
        #expect(!dialog.keyHints.contains { $0.keys.contains("PgUp") })
    }
}
