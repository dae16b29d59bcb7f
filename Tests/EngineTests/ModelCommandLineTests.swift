import Foundation
import Testing
import TestSupport
@testable import Engine

/// The `whet` model commands on broken files: one line on stderr, non-zero exit, never a crash.
@Suite struct ModelCommandLineTests {
    func brokenCopies() throws -> [URL] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-broken-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var w = GGUFWriter()
        w.set("general.architecture", .string("gemma3"))
        w.set("gemma3.block_count", .uint32(1))
        w.addTensor(name: "token_embd.weight", dimensions: [4, 8], values: [Float](repeating: 0.5, count: 32))
        let good = w.encoded()
        let truncated = dir.appendingPathComponent("truncated.gguf")
        try Data(good.prefix(good.count - 40)).write(to: truncated)
        var garbage = good
        for i in 0..<4 { garbage[i] = 0x58 }
        let badMagic = dir.appendingPathComponent("bad-magic.gguf")
        try Data(garbage).write(to: badMagic)
        let incomplete = dir.appendingPathComponent("incomplete.gguf")
        try Data(good).write(to: incomplete)
        return [truncated, badMagic, incomplete]
    }

    @Test func brokenModelFilesGiveOneLineErrors() throws {
        guard TestModels.whetBinary() != nil else {
            if TestModels.isCI { Issue.record("whet binary missing") }
            return
        }
        for file in try brokenCopies() {
            for arguments in [["bench", "--model", file.path, "--repetitions", "1"], ["models", "show", file.path, "--json"]] {
                if arguments[0] == "models" && file.lastPathComponent == "incomplete.gguf" { continue }
                let run = try TestModels.runWhet(arguments)
                #expect(run.status == 1, "\(arguments)")
                #expect(run.stdout.isEmpty)
                let lines = run.stderr.split(separator: "\n")
                #expect(lines.count == 1, "\(arguments): \(run.stderr)")
                #expect(run.stderr.hasPrefix("whet: ") && run.stderr.contains(file.path))
            }
        }
    }
}
