import Testing
import Workbench

@Test func workbenchModuleLinks() {
    #expect(!WorkbenchModule.summary.isEmpty)
}
