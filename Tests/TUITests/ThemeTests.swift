import Foundation
import Testing
@testable import TUI

@Suite struct ThemeTests {
    let library = ThemeLibrary(directories: [themesFolder])

    @Test func shippedThemesParseAndDefineEveryRole() throws {
        let names = library.names()
        for required in ["default", "light", "high-contrast", "gruvbox"] { #expect(names.contains(required)) }
        for name in names {
            let theme = try library.load(name)
            for role in StyleRole.required { #expect(theme.colors[role] != nil, "\(name) lacks \(role)") }
            // Every file documents its roles.
            let text = try String(contentsOf: themesFolder.appendingPathComponent("\(name).theme"), encoding: .utf8)
            #expect(text.contains("border_focused"))
            #expect(text.hasPrefix("#"))
        }
    }

    @Test func compiledInDefaultMatchesTheFile() throws {
        let file = try library.load("default")
        #expect(file.colors == Theme.defaultDark.colors)
    }

    @Test func overridesAndFallbacks() throws {
        let gruvbox = try library.load("gruvbox")
        #expect(gruvbox.name == "Gruvbox Dark")
        #expect(gruvbox.color(.text, for: .trueColor) == .rgb(RGB(0xeb, 0xdb, 0xb2)))
        #expect(gruvbox.color(.text, for: .ansi256) == .indexed(223))       // explicit override
        #expect(gruvbox.color(.series(1), for: .ansi256) == .indexed(ColorQuantizer.nearest256(RGB(0x83, 0xa5, 0x98))))
        #expect(gruvbox.color(.series(7), for: .trueColor) == gruvbox.color(.series(1), for: .trueColor)) // wraps
        #expect(gruvbox.color(.error, for: .monochrome) == .terminalDefault)
        let light = try library.load("light")
        #expect(light.color(.text, for: .ansi8) == .indexed(0))             // black
        #expect(light.color(.background, for: .ansi8) == .indexed(7))       // white
    }

    @Test func quantization() {
        #expect(ColorQuantizer.nearest256(RGB(255, 0, 0)) == 196)
        #expect(ColorQuantizer.nearest256(RGB(0, 0, 0)) == 16)
        #expect(ColorQuantizer.nearest256(RGB(0x80, 0x80, 0x80)) == 244)   // grey ramp: 8 + 12·10 = 128
        #expect(ColorQuantizer.xterm256(196) == RGB(255, 0, 0))
        #expect(ColorQuantizer.nearest8(RGB(250, 250, 250)) == 7)
        #expect(ColorQuantizer.nearest8(RGB(20, 20, 30)) == 0)
        #expect(ColorQuantizer.nearest8(RGB(220, 40, 40)) == 1)
    }

    @Test func parseErrorsNameTheLineAndTheFix() {
        func error(_ text: String) -> String {
            do { _ = try Theme.parse(text); return "" } catch { return String(describing: error) }
        }
        #expect(error("background = #000000").contains("line 1"))
        #expect(error("\nbogus = \"#000000\"").contains("line 2: unknown role \"bogus\""))
        #expect(error("[colours]").contains("unknown section"))
        #expect(error("text = \"#zzzzzz\"").contains("must be a quoted colour"))
        #expect(error("[ansi256]\ntext = 300").contains("0–255"))
        #expect(error("[ansi8]\ntext = \"pink\"").contains("black, red"))
        #expect(error("text = \"#ffffff\"").contains("does not define background"))
        #expect(throws: ThemeError.self) { try library.load("no-such-theme") }
        #expect(throws: ThemeError.self) { try library.load("../etc/passwd") }
    }

    @Test func commentsAndQuotedHashes() throws {
        var text = StyleRole.required.map { "\($0.key) = \"#102030\"   # a comment" }.joined(separator: "\n")
        text += "\nname = \"Mine\"\n"
        let theme = try Theme.parse(text)
        #expect(theme.name == "Mine")
        #expect(theme.rgb(.accent) == RGB(0x10, 0x20, 0x30))
        #expect(RGB(0x10, 0x20, 0x30).description == "#102030")
    }

    @Test func monochromeKeepsMeaningWithAttributes() {
        #expect(Theme.monochromeAttributes(for: Style(.error)).contains(.bold))
        #expect(Theme.monochromeAttributes(for: Style(.muted)).contains(.dim))
        #expect(Theme.monochromeAttributes(for: Style(.text, on: .selection)).contains(.reverse))
        #expect(Theme.monochromeAttributes(for: Style(.text)) == [])
    }
}
