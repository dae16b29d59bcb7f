import Testing
@testable import TUI
import TUITesting

@Suite struct DisplayWidthTests {
    @Test func asciiAndControls() {
        #expect(DisplayWidth.of("a" as Character) == 1)
        #expect(DisplayWidth.of("hello") == 5)
        #expect(DisplayWidth.of("\u{7}" as Character) == 0)
    }

    @Test func doubleWidth() {
        #expect(DisplayWidth.of("漢字") == 4)
        #expect(DisplayWidth.of("かな") == 4)
        #expect(DisplayWidth.of("한국어") == 6)
        #expect(DisplayWidth.of("ＡＢ") == 4)          // fullwidth Latin
        #expect(DisplayWidth.of("😀" as Character) == 2)
        #expect(DisplayWidth.of("🇫🇷" as Character) == 2) // regional-indicator pair
        #expect(DisplayWidth.of("👩‍💻" as Character) == 2) // ZWJ sequence
    }

    @Test func zeroWidthMarks() {
        #expect(DisplayWidth.of("e\u{301}" as Character) == 1)  // e + combining acute
        #expect(DisplayWidth.of("e\u{301}x") == 2)
        #expect(DisplayWidth.of("\u{301}" as Unicode.Scalar) == 0)
        #expect(DisplayWidth.of("\u{200D}" as Unicode.Scalar) == 0)
        #expect(DisplayWidth.of("\u{FE0F}" as Unicode.Scalar) == 0)
        // Text-presentation symbols stay narrow like wcwidth says.
        #expect(DisplayWidth.of("❤" as Character) == 1)
        #expect(DisplayWidth.of("→" as Character) == 1)
        #expect(DisplayWidth.of("█" as Character) == 1)
    }

    @Test func truncateAndWrap() {
        #expect(TextLayout.truncate("abcdef", to: 4) == "abc…")
        #expect(TextLayout.truncate("漢字漢字", to: 5) == "漢字…")
        #expect(TextLayout.pad("ab", to: 4) == "ab  ")
        #expect(TextLayout.pad("ab", to: 4, alignRight: true) == "  ab")
        #expect(TextLayout.wrap("the quick brown fox", width: 9) == ["the quick", "brown fox"])
        #expect(TextLayout.wrap("abcdefghij", width: 4) == ["abcd", "efgh", "ij"])
        #expect(TextLayout.wrap("a\n\nb", width: 4) == ["a", "", "b"])
    }
}

@Suite struct LayoutTests {
    @Test func partsAlwaysTileTheWhole() {
        for total in [0, 1, 7, 80, 121] {
            let parts = Layout.distribute(total, [.fixed(10), .weight(1), .weight(2), .percent(25), .minimum(5)])
            #expect(parts.map(\.length).reduce(0, +) == total)
            var offset = 0
            for p in parts { #expect(p.offset == offset); offset += p.length }
        }
    }

    @Test func fixedWeightPercent() {
        #expect(Layout.distribute(100, [.fixed(20), .weight(1), .weight(3)]).map(\.length) == [20, 20, 60])
        #expect(Layout.distribute(100, [.percent(30), .weight(1)]).map(\.length) == [30, 70])
        #expect(Layout.distribute(10, [.weight(1), .weight(1), .weight(1)]).map(\.length) == [4, 3, 3])
        // Fixed parts shrink in order when they overflow.
        #expect(Layout.distribute(15, [.fixed(10), .fixed(10)]).map(\.length) == [10, 5])
        // A minimum keeps its floor while a weight shares the rest.
        #expect(Layout.distribute(30, [.weight(4), .minimum(12)]).map(\.length) == [18, 12])
    }

    @Test func rectSplits() {
        let r = Rect(x: 2, y: 1, width: 20, height: 10)
        let cols = r.columns([.fixed(5), .weight(1)])
        #expect(cols == [Rect(x: 2, y: 1, width: 5, height: 10), Rect(x: 7, y: 1, width: 15, height: 10)])
        let rows = r.rows([.weight(1), .fixed(1)])
        #expect(rows[1] == Rect(x: 2, y: 10, width: 20, height: 1))
        #expect(r.inset(by: 20).isEmpty)
        #expect(r.centered(Size(width: 10, height: 4)) == Rect(x: 7, y: 4, width: 10, height: 4))
    }
}

@Suite struct ScreenBufferTests {
    @Test func wideCharactersTakeTwoCells() {
        let b = ScreenBuffer(size: Size(width: 6, height: 1))
        let used = b.write("a漢b", x: 0, y: 0, style: .plain)
        #expect(used == 4)
        #expect(b[1, 0].width == 2)
        #expect(b[2, 0].isContinuation)
        #expect(b.line(0) == "a漢b  ")
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        let b = ScreenBuffer(size: Size(width: 4, height: 1))
        b.write("漢字", x: 0, y: 0, style: .plain)
        b.put("x", x: 1, y: 0, style: .plain)       // right half of 漢
        #expect(b.line(0) == " x字")
        b.put("y", x: 2, y: 0, style: .plain)       // left half of 字
        #expect(b.line(0) == " xy ")
    }

    @Test func wideCharacterAtTheClipEdgeBecomesASpace() {
        let b = ScreenBuffer(size: Size(width: 3, height: 1))
        b.write("ab漢", x: 0, y: 0, style: .plain)
        #expect(b.line(0) == "ab ")
        #expect(!b[2, 0].isContinuation)
    }

    @Test func changesAreOnlyTheDamagedCells() {
        let a = ScreenBuffer(size: Size(width: 10, height: 3))
        a.write("hello", x: 0, y: 1, style: .plain)
        let b = a.copy()
        #expect(b.changes(from: a).isEmpty)
        b.write("J", x: 0, y: 1, style: .plain)
        b.write("!", x: 9, y: 2, style: Style(.error))
        let changes = b.changes(from: a)
        #expect(changes.map(\.point) == [Point(x: 0, y: 1), Point(x: 9, y: 2)])
        // A style change alone is damage too.
        let c = b.copy()
        c.restyle(Rect(x: 1, y: 1, width: 1, height: 1)) { $0.with(.bold) }
        #expect(c.changes(from: b).map(\.point) == [Point(x: 1, y: 1)])
        // No previous frame, or another size: everything.
        #expect(a.changes(from: nil).count == 30)
        #expect(a.changes(from: ScreenBuffer(size: Size(width: 3, height: 3))).count == 30)
    }

    @Test func wideDamageIsReportedOnceAtTheLeadCell() {
        let a = ScreenBuffer(size: Size(width: 4, height: 1))
        let b = a.copy()
        b.write("漢", x: 1, y: 0, style: .plain)
        #expect(b.changes(from: a).map(\.point) == [Point(x: 1, y: 0)])
    }

    @Test func canvasClipsAndTranslates() {
        let b = ScreenBuffer(size: Size(width: 8, height: 3))
        let c = Canvas(buffer: b).child(Rect(x: 2, y: 1, width: 4, height: 1))
        c.write("abcdefgh", x: 0, y: 0, style: .plain)
        c.write("zz", x: 0, y: 1, style: .plain)         // outside: clipped
        #expect(Snapshot.text(b) == "\n  abcd\n")
        #expect(c.size == Size(width: 4, height: 1))
        let inner = c.child(Rect(x: 3, y: 0, width: 5, height: 1))
        inner.write("XYZ", x: 0, y: 0, style: .plain)
        #expect(b.line(1) == "  abcX  ")
    }
}

@Suite struct FocusRingTests {
    final class Box: View {
        func render(_ canvas: Canvas, _ context: RenderContext) {}
        var acceptsFocus: Bool { true }
    }

    @Test func cyclesAndKeepsFocusAcrossUpdates() {
        let a = Box(), b = Box(), c = Box()
        var ring = FocusRing()
        ring.update([a, b, c])
        #expect(ring.current === a)
        ring.next(); #expect(ring.current === b)
        ring.previous(); ring.previous(); #expect(ring.current === c)
        ring.update([b, c])                 // c is still there
        #expect(ring.current === c)
        ring.update([a, b])                 // c went away
        #expect(ring.current === a)
        let focusedB = ring.focus(b)
        #expect(focusedB && ring.current === b)
        let focusedC = ring.focus(c)
        #expect(!focusedC)
        ring.update([]); #expect(ring.current == nil)
    }
}
