import Foundation
import Testing
@testable import TUI
import TUITesting

@Suite struct ApplicationTests {
    /// Two editors in panels over a help bar: the smallest "pane".
    final class Screen {
        let left = TextEditor(placeholder: "left")
        let right = TextEditor(placeholder: "right")
        let root: Split
        init() {
            root = Split(.vertical, [
                (.weight(1), Split(.horizontal, [(.weight(1), Panel("Left", left)), (.weight(1), Panel("Right", right))])),
                (.fixed(1), HelpBar()),
            ])
        }
    }

    @Test func tabMovesFocusAndKeysGoToTheFocusedView() {
        let s = Screen()
        let h = ViewHarness(s.root, size: Size(width: 40, height: 6))
        #expect(h.app.focused === s.left)
        h.type("ab")
        h.press(.tab)
        #expect(h.app.focused === s.right)
        h.type("cd")
        h.press(.backTab)
        #expect(h.app.focused === s.left)
        #expect(s.left.text == "ab" && s.right.text == "cd")
        expectSnapshot(h.text, """
            ╭─ Left ───────────╮╭─ Right ──────────╮
            │ab                ││cd                │
            │                  ││                  │
            │                  ││                  │
            ╰──────────────────╯╰──────────────────╯
             ←↑↓→ move  Ctrl-Z undo  Ctrl-Y redo
            """, "app-two-panels")
        // The focused panel's border uses border_focused.
        let fg = Snapshot.foregroundRoles(h.screen).split(separator: "\n")
        #expect(fg[0].hasPrefix("F"))
        #expect(fg[0].last == "o")
    }

    @Test func closingAModalGivesFocusBack() {
        let s = Screen()
        let h = ViewHarness(s.root, size: Size(width: 60, height: 20))
        h.press(.tab)
        #expect(h.app.focused === s.right)
        h.app.showHelp()
        h.settle()
        #expect(h.app.focused !== s.right)
        h.press(.escape)
        #expect(h.app.focused === s.right)
        h.type("x")                           // straight after closing, keys reach the right editor
        #expect(s.right.text == "x" && s.left.text.isEmpty)
    }

    @Test func draggingASplitBoundaryResizesTheChildren() {
        let left = TextEditor(), right = TextEditor()
        let split = Split(.horizontal, [(.weight(1), Panel("L", left)), (.weight(1), Panel("R", right))])
        split.resizable = true
        let h = ViewHarness(split, size: Size(width: 40, height: 5))
        #expect(h.line(0).hasPrefix("╭─ L ──────────────╮╭─ R"))     // 20 + 20
        h.drag(from: Point(x: 19, y: 2), to: Point(x: 29, y: 2))
        #expect(h.line(0).hasPrefix("╭─ L ────────────────────────╮╭─ R"))  // 30 + 10
        // The new proportion holds when the terminal grows.
        h.resize(Size(width: 80, height: 5))
        #expect(h.screen[59, 0].grapheme == "╮")
        // Children never shrink below the minimum.
        h.drag(from: Point(x: 59, y: 2), to: Point(x: 79, y: 2))
        #expect(h.screen[76, 0].grapheme == "╮")
        // Not resizable: the same drag changes nothing.
        split.resizable = false
        h.drag(from: Point(x: 76, y: 2), to: Point(x: 40, y: 2))
        #expect(h.screen[76, 0].grapheme == "╮")
    }

    @Test func clickFocusesTheViewUnderThePointer() {
        let s = Screen()
        let h = ViewHarness(s.root, size: Size(width: 40, height: 6))
        h.click(25, 2)
        #expect(h.app.focused === s.right)
    }

    @Test func helpOverlayListsTheFocusedKeysAndCloses() {
        let s = Screen()
        let h = ViewHarness(s.root, size: Size(width: 60, height: 20))
        h.press(.escape)                      // the editor ignores Esc; nothing opens
        #expect(h.app.overlays.isEmpty)
        // Editors take printable keys, so move focus to a non-text view first.
        let table = Table(columns: [Table.Column("x")], rows: [["1"]])
        let h2 = ViewHarness(Split(.vertical, [(.weight(1), table), (.fixed(1), HelpBar())]), size: Size(width: 60, height: 20))
        #expect(h2.text.contains("s sort column"))
        h2.type("?")
        #expect(h2.app.overlays.count == 1)
        #expect(h2.text.contains("Keys"))
        #expect(h2.text.contains("reverse"))
        #expect(h2.text.contains("Shift-Tab"))
        h2.press(.escape)
        #expect(h2.app.overlays.isEmpty)
        #expect(!h2.text.contains("Keys"))
        _ = h
    }

    @Test func quitAsksWhenTheHookHasAQuestion() {
        let table = Table(columns: [Table.Column("x")])
        let h = ViewHarness(table, size: Size(width: 60, height: 12))
        var active = true
        h.app.confirmQuit = { active ? "A training run is active. Quit anyway?" : nil }
        h.app.isRunning = true
        h.type("q")
        #expect(h.app.isRunning)
        #expect(h.text.contains("A training run is active.") && h.text.contains("Quit anyway?"))
        expectSnapshot(h.text, """
            x
            No rows
                           ╭─ Quit ─────────────────────╮
                           │                            │
                           │ A training run is active.  │
                           │ Quit anyway?               │
                           │                            │
                           │       [ Quit ]  [ Cancel ] │
                           ╰────────────────────────────╯



            """, "app-quit-dialog")
        h.press(.escape)                      // cancel
        #expect(h.app.isRunning && h.app.overlays.isEmpty)
        h.type("q"); h.press(.enter)          // "Quit" is preselected
        #expect(!h.app.isRunning)
        active = false
        h.app.isRunning = true
        h.type("q")
        #expect(!h.app.isRunning)
        h.app.isRunning = true
        h.press(.character("c"), .control)
        #expect(!h.app.isRunning)
    }

    @Test func ctrlCAsksWhileActiveAndASecondCtrlCQuits() {
        let h = ViewHarness(Table(columns: [Table.Column("x")]), size: Size(width: 60, height: 12))
        var active = true
        h.app.confirmQuit = { active ? "A training run is active. Quit anyway?" : nil }
        h.app.isRunning = true
        // Active: Ctrl-C asks instead of quitting.
        h.press(.character("c"), .control)
        #expect(h.app.isRunning && h.app.isAskingToQuit)
        #expect(h.text.contains("Quit anyway?"))
        // Esc answers "no": the loop goes on, the question is gone.
        h.press(.escape)
        #expect(h.app.isRunning && !h.app.isAskingToQuit && h.app.overlays.isEmpty)
        // Ctrl-C then "Cancel" (Tab to it, Enter) keeps running too.
        h.press(.character("c"), .control)
        h.press(.right); h.press(.enter)
        #expect(h.app.isRunning && h.app.overlays.isEmpty)
        // `q` then Ctrl-C at the question: a second interrupt quits at once.
        h.type("q")
        #expect(h.app.isAskingToQuit)
        h.app.requestQuit()  // asking again does not stack a second dialog
        #expect(h.app.overlays.count == 1)
        h.press(.character("c"), .control)
        #expect(!h.app.isRunning)
        // Nothing active: Ctrl-C quits at once without a question.
        active = false
        h.app.isRunning = true
        h.app.dismiss(h.app.overlays[0])
        h.press(.character("c"), .control)
        #expect(!h.app.isRunning && h.app.overlays.isEmpty)
    }

    @Test func commandPaletteFiltersAndRuns() {
        let table = Table(columns: [Table.Column("x")])
        let h = ViewHarness(table, size: Size(width: 60, height: 12))
        var ran: [String] = []
        h.app.commands = [
            PaletteCommand("theme gruvbox", detail: "switch theme") { ran.append("gruvbox") },
            PaletteCommand("theme light") { ran.append("light") },
            PaletteCommand("train start") { ran.append("train") },
        ]
        h.type(":")
        #expect(h.text.contains("theme light"))
        h.type("tl")
        #expect(!h.text.contains("train start"))
        #expect(h.text.contains("theme light"))
        h.press(.enter)
        #expect(ran == ["light"])
        #expect(h.app.overlays.isEmpty)
        h.type(":"); h.press(.down); h.press(.down); h.press(.enter)
        #expect(ran == ["light", "train"])
    }

    @Test func toastsShowAndExpire() {
        let h = ViewHarness(Label("body"), size: Size(width: 50, height: 10))
        h.app.toast("model file is corrupt: re-run setup", kind: .error, seconds: 3)
        h.settle()
        #expect(h.text.contains("model file is corrupt"))
        let fg = Snapshot.foregroundRoles(h.screen)
        #expect(fg.contains("eeeee"))
        h.advance(by: 3.5)
        #expect(!h.text.contains("model file is corrupt"))
    }

    @Test func tooSmallScreenAndResize() {
        let h = ViewHarness(Label("content"), size: Size(width: 80, height: 24))
        h.app.minimumSize = Size(width: 60, height: 16)
        h.resize(Size(width: 40, height: 10))
        #expect(h.text.contains("Terminal too small: 40×10"))
        #expect(h.text.contains("60×16"))
        h.resize(Size(width: 70, height: 20))
        #expect(h.text.hasPrefix("content"))
        #expect(h.backend.clears >= 2)
    }

    @Test func onlyDamagedCellsAreSent() {
        let editor = TextEditor()
        let h = ViewHarness(editor, size: Size(width: 80, height: 24))
        #expect(h.backend.changesPerFrame.last == 80 * 24)
        h.type("x")
        #expect(h.app.lastFrameChanges == 1)
        h.settle()
        #expect(h.app.lastFrameChanges == 0)
    }

    @Test func backgroundMessagesAreDrainedOnTheUIThread() async {
        let log = LogView()
        let h = ViewHarness(log, size: Size(width: 30, height: 5))
        let queue = MessageQueue<Int>()
        h.app.attach(queue) { log.append("step \($0)") }
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask { for i in 0..<25 { queue.post(t * 100 + i) } }
            }
        }
        h.settle()
        #expect(log.entries.count == 100)
        #expect(queue.isEmpty)
    }

    @Test func tabsSwitchByKeyAndClick() {
        let tabs = Tabs([("One", Label("first page")), ("Two", Label("second page"))])
        let h = ViewHarness(tabs, size: Size(width: 40, height: 4))
        expectSnapshot(h.text, "  1 One   2 Two\nfirst page\n\n", "tabs")
        h.type("]")
        #expect(tabs.selected == 1)
        #expect(h.text.contains("second page"))
        h.click(2, 0)
        #expect(tabs.selected == 0)
    }

    @Test func stepRunsTheLoopWithFrameLimit() {
        let editor = TextEditor()
        let h = ViewHarness(editor, size: Size(width: 20, height: 2))
        let frames = h.backend.frames.count
        h.backend.type("abc")
        h.app.step()                          // handles all pending input, but a frame is not due yet
        #expect(editor.text == "abc")
        #expect(h.backend.frames.count == frames)
        h.advance(by: 0.05)                   // settle() draws; step would too after 1/30 s
        #expect(h.backend.frames.count == frames + 1)
    }

    @Test func frameFlushReportsWhenTheInputItAnswersWasRead() {
        let editor = TextEditor()
        let h = ViewHarness(editor, size: Size(width: 20, height: 2))
        var reports: [(Double?, Double)] = []
        h.app.onFrameFlushed = { input, flushed in reports.append((input, flushed)) }
        h.settle()                            // a frame without input
        #expect(reports.count == 1 && reports[0].0 == nil)
        h.backend.type("ab")
        while let e = h.backend.readEvent(timeout: 0) { h.app.handle(e) }
        h.advance(by: 0.25)                   // the frame that answers both keys is flushed later
        #expect(reports.count == 2)
        #expect(reports[1].0 == 1000)         // the first key's read time, not the second's
        #expect(reports[1].1 == 1000.25)
        h.settle()
        #expect(reports.last?.0 == nil)
    }
}
