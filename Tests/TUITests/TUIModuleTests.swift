import Testing
import TUI

@Test func tuiModuleLinks() {
    #expect(!TUIModule.summary.isEmpty)
}
