import Foundation
import Testing
@testable import Workbench

/// Compare columns can put a LoRA adapter from the workspace's runs on the active model (the base
/// against a fine-tune): `m` steps a column through none → newest adapter → … → none, the column
/// title names the run, and each column's generation request carries its adapter.
@Suite struct CompareAdapterTests {
    private func workspace(adapters names: [String]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("whet-compare-\(UUID().uuidString)")
        for (i, name) in names.enumerated() {
            let folder = root.appendingPathComponent("runs/\(name)/adapter", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let config = folder.appendingPathComponent("adapter_config.json")
            try Data("{\"peft_type\":\"LORA\",\"r\":8}".utf8).write(to: config)
            // Later names are newer.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(i) * 60)],
                                                  ofItemAtPath: config.path)
        }
        // A run without an adapter (e.g. a reward model) is not offered.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("runs/reward-only/reward"), withIntermediateDirectories: true)
        return root
    }

    @Test func columnsCycleThroughTheWorkspaceAdaptersAndRequestThem() throws {
        let root = try workspace(adapters: ["lora-old", "dpo-new"])
        let d = ShellDriver(workspace: root)
        d.shell.select(pane: 5)
        d.settle()
        let compare = try #require(d.shell.compare)
        #expect(compare.availableAdapters().map { $0.deletingLastPathComponent().lastPathComponent } == ["dpo-new", "lora-old"])
        #expect(compare.requests().map(\.adapter) == [nil, nil])

        compare.cycleAdapter(column: 1)
        d.settle()
        #expect(compare.state.columns[1].adapter == root.appendingPathComponent("runs/dpo-new/adapter").path)
        #expect(compare.requests().map(\.adapter) == [nil, root.appendingPathComponent("runs/dpo-new/adapter").path])
        #expect(d.text.contains("· +dpo-new"))

        compare.cycleAdapter(column: 1)
        #expect(compare.state.columns[1].adapter == root.appendingPathComponent("runs/lora-old/adapter").path)
        compare.cycleAdapter(column: 1)
        #expect(compare.state.columns[1].adapter == nil)
        #expect(compare.requests().allSatisfy { $0.parameters.maxTokens == 96 && $0.user == compare.state.input })
    }

    @Test func withoutAdaptersTheColumnStaysAndAToastSaysWhere() throws {
        let root = try workspace(adapters: [])
        let d = ShellDriver(workspace: root)
        d.shell.select(pane: 5)
        d.settle()
        let compare = try #require(d.shell.compare)
        compare.cycleAdapter(column: 0)
        d.settle()
        #expect(compare.state.columns[0].adapter == nil)
        #expect(d.text.contains("No adapters in"))
    }
}
