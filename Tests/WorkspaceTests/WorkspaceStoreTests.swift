import Foundation
import Testing
import TestSupport
import Training
@testable import Workspace

private func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("whet-ws-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct WorkspaceStoreTests {
    @Test func migratesAndReopens() throws {
        let folder = try temporaryFolder()
        let store = try WorkspaceStore(folder: folder)
        #expect(try store.appliedMigrations() == ["v1-core", "v2-compare"])
        let p = try store.project(named: "demo")
        // Reopening finds the same project and re-applies nothing.
        let again = try WorkspaceStore(folder: folder)
        #expect(try again.project(named: "demo").id == p.id)
        #expect(try again.projects().map(\.name) == ["demo"])
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("whet.sqlite").path))
        #expect(try again.integrityCheck())
    }

    @Test func notesPromptsAndDatasets() throws {
        let store = try WorkspaceStore(folder: try temporaryFolder())
        let pid = try #require(try store.project(named: "p").id)
        var note = try store.save(note: ScopeNote(projectId: pid, title: "Task", body: "# Goal\nSummaries"))
        note.body += "\n- ROUGE-L ≥ 0.3"
        try store.save(note: note)
        #expect(try store.notes(projectId: pid).map(\.body) == ["# Goal\nSummaries\n- ROUGE-L ≥ 0.3"])
        try store.savePrompt(projectId: pid, name: "summarise", body: "{\"v\":1}")
        let v2 = try store.savePrompt(projectId: pid, name: "summarise", body: "{\"v\":2}")
        #expect(v2.version == 2)
        #expect(try store.promptVersions(projectId: pid, name: "summarise").map(\.body) == ["{\"v\":1}", "{\"v\":2}"])
        try store.register(dataset: RegisteredDataset(projectId: pid, name: "sft", path: "/x.jsonl", kind: "messages", records: 3, sha256: "ab"))
        #expect(try store.datasets(projectId: pid).map(\.records) == [3])
    }

    @Test func runsMetricsAndEvalResults() throws {
        let store = try WorkspaceStore(folder: try temporaryFolder())
        let pid = try #require(try store.project(named: "p").id)
        let run = try store.startRun(projectId: pid, kind: "lora", config: "{\"r\":8}")
        #expect(FileManager.default.fileExists(atPath: store.runFolder(run.id).path))
        try store.append(metrics: (0..<5).map { MetricPoint(runId: run.id, name: "loss", step: $0, value: 3 - Double($0) * 0.5) })
        // Re-writing a step replaces it (a resumed run may repeat the step it died in).
        try store.append(metrics: [MetricPoint(runId: run.id, name: "loss", step: 4, value: 0.9)])
        #expect(try store.metricSeries(runId: run.id, name: "loss").map(\.value) == [3, 2.5, 2, 1.5, 0.9])
        try store.setStatus(runId: run.id, .completed)
        let done = try store.run(id: run.id)
        #expect(done.status == .completed && done.endedAt != nil)
        try store.append(evalResults: [EvalResult(runId: run.id, exampleId: "1", prediction: "a", reference: "b", scores: "{\"rouge1\":0}")])
        #expect(try store.evalResults(runId: run.id).count == 1)
        #expect(throws: WorkspaceError.self) { try store.run(id: "missing") }
    }

    @Test func picksExportAsDPODataTheTrainerReads() throws {
        let folder = try temporaryFolder()
        let store = try WorkspaceStore(folder: folder)
        let pid = try #require(try store.project(named: "p").id)
        try store.record(pick: PreferencePick(projectId: pid, prompt: "Capital of Italy?", outputA: "Rome.", outputB: "Milan.",
                                              configA: "{}", configB: "{}", choice: .a))
        try store.record(pick: PreferencePick(projectId: pid, prompt: "2+2?", outputA: "5", outputB: "4",
                                              configA: "{}", configB: "{}", choice: .b, note: "B is right"))
        try store.record(pick: PreferencePick(projectId: pid, prompt: "Hi", outputA: "Hello", outputB: "Hey",
                                              configA: "{}", configB: "{}", choice: .tie))
        let url = folder.appendingPathComponent("prefs.jsonl")
        #expect(try store.exportPreferences(projectId: pid, to: url) == 2)
        let data = try Dataset.load(path: url.path)
        #expect(data.examples.map(\.record) == [
            .preference(prompt: "Capital of Italy?", chosen: "Rome.", rejected: "Milan."),
            .preference(prompt: "2+2?", chosen: "4", rejected: "5"),
        ])
    }

    @Test func killedWriterLeavesAConsistentDatabase() throws {
        let folder = try temporaryFolder()
        guard let binary = TestModels.whetBinary() else {
            Issue.record("whet binary not built")
            return
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["runs", "write-load", "--workspace", folder.path]
        process.standardOutput = FileHandle.nullDevice
        let log = folder.appendingPathComponent("stderr.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        // Let it commit a few hundred transactions, then kill it without warning.
        let dbFile = folder.appendingPathComponent("whet.sqlite")
        var waited = 0
        while waited < 200 {
            Thread.sleep(forTimeInterval: 0.05)
            waited += 1
            // Open the store only once the writer has created it and started its run.
            let started = (try? String(contentsOf: log, encoding: .utf8))?.contains("run ") ?? false
            if started, let store = try? WorkspaceStore(folder: folder), let run = try? store.runs().first,
               let n = try? store.metricSeries(runId: run.id, name: "a").count, n > 200 { break }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal,
                "writer ended by itself: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        #expect(FileManager.default.fileExists(atPath: dbFile.path))

        let store = try WorkspaceStore(folder: folder)
        #expect(try store.integrityCheck())
        let run = try #require(try store.runs().first)
        #expect(run.status == .running) // it never finished
        let a = try store.metricSeries(runId: run.id, name: "a")
        let b = try store.metricSeries(runId: run.id, name: "b")
        #expect(a.count > 0)
        // Each transaction wrote both series: a kill mid-write must not leave one without the other.
        #expect(a.count == b.count)
        #expect(a.map(\.step) == Array(0..<a.count))
        // Later transactions never survive without the earlier ones: eval rows and picks are
        // gap-free prefixes at most one step behind the metrics.
        let evals = try store.evalResults(runId: run.id)
        #expect(evals.map(\.exampleId) == (0..<evals.count).map(String.init))
        #expect(evals.count == a.count || evals.count == a.count - 1)
        let picks = try store.picks(projectId: run.projectId)
        #expect(picks.map(\.note) == (0..<picks.count).map(String.init))
        #expect(picks.count == evals.count || picks.count == evals.count - 1)
        // The workspace stays writable after the crash.
        try store.setStatus(runId: run.id, .failed, error: "killed")
        #expect(try store.run(id: run.id).status == .failed)
    }
}
