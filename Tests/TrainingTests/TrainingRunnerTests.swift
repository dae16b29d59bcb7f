import Engine
import Foundation
import Testing
@testable import Training

/// A small but real learning problem for the runner: fit y = 3x − 2 by SGD on seeded mini-batches.
/// Its checkpoint holds the weights and the data generator's position, so a resumed run is exact.
final class LineFit: TrainableTask {
    var w = 0.0, b = 0.0
    var generator = SeededGenerator(seed: 11)
    var draws = 0
    var learningRate = 0.1
    var poisonAtStep: Int?

    func nextBatch() -> [(Double, Double)] {
        (0..<8).map { _ in
            draws += 1
            let x = Double(generator.nextUniform()) * 2 - 1
            return (x, 3 * x - 2)
        }
    }

    func trainStep(_ step: Int) throws -> StepResult {
        let batch = nextBatch()
        var gw = 0.0, gb = 0.0, loss = 0.0
        for (x, y) in batch {
            let err = w * x + b - y
            loss += err * err / Double(batch.count)
            gw += 2 * err * x / Double(batch.count)
            gb += 2 * err / Double(batch.count)
        }
        w -= learningRate * gw
        b -= learningRate * gb
        if step == poisonAtStep { loss = .nan }
        return StepResult(loss: loss, learningRate: learningRate, gradNorm: (gw * gw + gb * gb).squareRoot(), tokens: batch.count)
    }

    func validationLoss() throws -> Double? {
        let xs = stride(from: -1.0, through: 1.0, by: 0.25)
        return xs.map { x in pow(w * x + b - (3 * x - 2), 2) }.reduce(0, +) / Double(xs.underestimatedCount)
    }

    struct Saved: Codable { var w, b: Double; var draws: Int }

    func saveCheckpoint(to folder: URL) throws {
        try JSONEncoder().encode(Saved(w: w, b: b, draws: draws)).write(to: folder.appendingPathComponent("state.json"))
    }

    func loadCheckpoint(from folder: URL) throws {
        let s = try JSONDecoder().decode(Saved.self, from: Data(contentsOf: folder.appendingPathComponent("state.json")))
        w = s.w
        b = s.b
        // Replay the generator to the same position.
        generator = SeededGenerator(seed: 11)
        draws = 0
        while draws < s.draws {
            _ = generator.nextUniform()
            draws += 1
        }
    }
}

private func temporaryFolder() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("whet-run-\(UUID().uuidString)")
}

@Suite struct TrainingRunnerTests {
    @Test func runsWritesMetricsAndCheckpoints() throws {
        let folder = temporaryFolder()
        let runner = TrainingRunner(task: LineFit(), folder: folder, settings: RunSettings(totalSteps: 40, checkpointEvery: 10, validateEvery: 20))
        var events: [RunEvent] = []
        let summary = try #require(try runner.run(resume: false) { events.append($0); return .proceed })
        let lines = try MetricsLog.read(runner.metricsURL)
        #expect(lines.map(\.step) == Array(1...40))
        #expect(lines.last!.loss < lines.first!.loss / 10)
        #expect(lines.filter { $0.validationLoss != nil }.map(\.step) == [20, 40])
        #expect(lines.last!.etaSeconds == 0)
        #expect(summary.steps == 40 && summary.bestValidationLoss != nil)
        #expect(try runner.checkpoints.entries().map(\.state.step) == [30, 40])
        #expect(events.first == .started(firstStep: 1, totalSteps: 40, resumed: false))
        if case .finished = events.last {} else { Issue.record("last event is \(String(describing: events.last))") }
    }

    @Test func cancelThenResumeGivesTheUninterruptedCurve() throws {
        let settings = RunSettings(totalSteps: 30, checkpointEvery: 5)
        let straight = temporaryFolder()
        try TrainingRunner(task: LineFit(), folder: straight, settings: settings).run(resume: false) { _ in .proceed }
        let expected = try MetricsLog.read(straight.appendingPathComponent("metrics.jsonl")).map(\.loss)

        let folder = temporaryFolder()
        let first = TrainingRunner(task: LineFit(), folder: folder, settings: settings)
        var cancelledAt: Int?
        let result = try first.run(resume: false) { event in
            if case let .step(m) = event, m.step == 13 { return .stop }
            if case let .cancelled(step) = event { cancelledAt = step }
            return .proceed
        }
        #expect(result == nil)
        #expect(cancelledAt == 13)
        #expect(try first.checkpoints.latest()?.state.step == 13)

        // A fresh task object, as after a restart: everything comes from the checkpoint.
        let second = TrainingRunner(task: LineFit(), folder: folder, settings: settings)
        var started: RunEvent?
        try second.run(resume: true) { event in
            if case .started = event { started = event }
            return .proceed
        }
        #expect(started == .started(firstStep: 14, totalSteps: 30, resumed: true))
        let resumed = try MetricsLog.read(second.metricsURL)
        #expect(resumed.map(\.step) == Array(1...30))
        #expect(resumed.map(\.loss) == expected)
    }

    @Test func nonFiniteLossFailsAndKeepsTheLastCheckpoint() throws {
        let task = LineFit()
        task.poisonAtStep = 12
        let runner = TrainingRunner(task: task, folder: temporaryFolder(), settings: RunSettings(totalSteps: 20, checkpointEvery: 5))
        var failure: String?
        #expect(throws: RunError.self) {
            try runner.run(resume: false) { event in
                if case let .failed(_, message) = event { failure = message }
                return .proceed
            }
        }
        #expect(failure?.contains("step 12") == true)
        #expect(try runner.checkpoints.latest()?.state.step == 10)
        #expect(try MetricsLog.read(runner.metricsURL).count == 11)
    }

    @Test func pauseBlocksUntilResumedFromAnotherThread() throws {
        let control = RunControl()
        let runner = TrainingRunner(task: LineFit(), folder: temporaryFolder(), settings: RunSettings(totalSteps: 10), control: control)
        let log = EventLog()
        let done = DispatchSemaphore(value: 0)
        control.pause()
        runner.start(resume: false, onEvent: { log.add($0); return .proceed }, completion: { _ in done.signal() })
        // Paused before its first step: nothing trains until resumed.
        while !log.events.contains(.paused(step: 0)) { Thread.sleep(forTimeInterval: 0.005) }
        #expect(!log.events.contains { if case .step = $0 { return true }; return false })
        control.resume()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(log.events.contains(.resumed(step: 0)))
        if case .finished = log.events.last {} else { Issue.record("run did not finish") }
    }

    @Test func resumeWithoutCheckpointIsAClearError() {
        let runner = TrainingRunner(task: LineFit(), folder: temporaryFolder(), settings: RunSettings(totalSteps: 5))
        #expect(throws: RunError.self) { try runner.run(resume: true) { _ in .proceed } }
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [RunEvent] = []
    func add(_ e: RunEvent) { lock.lock(); items.append(e); lock.unlock() }
    var events: [RunEvent] { lock.lock(); defer { lock.unlock() }; return items }
}
