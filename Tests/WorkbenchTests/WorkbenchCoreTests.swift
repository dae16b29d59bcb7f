import Foundation
import Testing
import Training
@testable import Workbench

private func drain(_ runner: JobRunner, until done: (WorkbenchEvent) -> Bool, timeout: TimeInterval = 10) -> [JobMessage] {
    var all: [JobMessage] = []
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let batch = runner.inbox.drain()
        all += batch
        if batch.contains(where: { done($0.event) }) { return all }
        Thread.sleep(forTimeInterval: 0.002)
    }
    return all
}

private func isEnd(_ e: WorkbenchEvent) -> Bool { if case .jobEnded = e { return true }; return false }

@Suite struct JobRunnerTests {
    @Test func runsOffTheCallingThreadAndReportsInOrder() {
        let runner = JobRunner()
        let ranElsewhere = EventInboxFlag()
        let id = runner.start(.generation, title: "gen") { ctx in
            ranElsewhere.set(!Thread.isMainThread)
            for piece in ["a", "b", "c"] { ctx.post(.text(slot: 0, piece: piece)) }
        }
        let messages = drain(runner, until: isEnd)
        #expect(ranElsewhere.value)
        #expect(messages.allSatisfy { $0.job == id })
        #expect(messages.map(\.event) == [.jobStarted(kind: .generation, title: "gen"), .text(slot: 0, piece: "a"),
                                          .text(slot: 0, piece: "b"), .text(slot: 0, piece: "c"),
                                          .jobEnded(kind: .generation, state: .finished)])
        #expect(runner.activeJobs.isEmpty)
    }

    @Test func cancelIsSeenByTheJobAndFailuresAreReported() {
        let runner = JobRunner()
        let started = DispatchSemaphore(value: 0)
        let id = runner.start(.training, title: "train") { ctx in
            started.signal()
            while !ctx.isCancelled { Thread.sleep(forTimeInterval: 0.001) }
        }
        started.wait()
        #expect(runner.activeJobs[id] == .training)
        runner.cancel(id)
        #expect(drain(runner, until: isEnd).last?.event == .jobEnded(kind: .training, state: .cancelled))

        struct Boom: Error, CustomStringConvertible { var description: String { "model file vanished" } }
        runner.start(.io, title: "io") { _ in throw Boom() }
        #expect(drain(runner, until: isEnd).last?.event == .jobEnded(kind: .io, state: .failed("model file vanished")))
    }
}

extension JobRunnerTests {
    /// On the way out the workbench cancels its jobs and waits for them to end (a training run
    /// finishes its step and writes a checkpoint); the wait is bounded.
    @Test func waitUntilIdleWaitsForCancelledJobsToEnd() {
        let runner = JobRunner()
        let started = DispatchSemaphore(value: 0)
        let finishedCleanly = EventInboxFlag()
        runner.start(.training, title: "train") { ctx in
            started.signal()
            while !ctx.isCancelled { Thread.sleep(forTimeInterval: 0.001) }
            Thread.sleep(forTimeInterval: 0.2)  // the step in flight and its checkpoint
            finishedCleanly.set(true)
        }
        started.wait()
        #expect(!runner.waitUntilIdle(timeout: 0.05), "a running job is not idle")
        runner.cancelAll()
        #expect(runner.waitUntilIdle(timeout: 10))
        #expect(finishedCleanly.value)
        #expect(runner.activeJobs.isEmpty)
    }
}

final class EventInboxFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var v = false
    func set(_ x: Bool) { lock.lock(); v = x; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return v }
}

@Suite struct PromptPaneStateTests {
    @Test func slidersClampStepAndFormat() {
        var s = PromptPaneState(contextLength: 1024)
        let moved = s.nudge(.temperature, steps: 2)
        #expect(moved)
        #expect(s.parameters.temperature == 0.9)
        s.set(.temperature, to: 9)
        #expect(s.parameters.temperature == 2)
        let movedAtTop = s.nudge(.temperature, steps: 1)
        #expect(!movedAtTop) // already at the top
        s.nudge(.maxTokens, steps: -100)
        #expect(s.parameters.maxTokens == 1)
        s.set(.topK, to: 12.6)
        #expect(s.parameters.topK == 13)
        #expect(GenerationParameter.temperature.format(0.5) == "0.50")
        #expect(GenerationParameter.maxTokens.format(128) == "128")
    }

    @Test func outputGoesStaleAndAsksForARerun() {
        var s = PromptPaneState(contextLength: 1000)
        s.userPrompt = "Tell me a joke"
        #expect(!s.isStale && !s.wantsRerun) // nothing generated yet
        let job = JobID(raw: 7)
        s.generationStarted(job)
        s.apply(JobMessage(job: job, event: .text(slot: 0, piece: "Why")))
        s.apply(JobMessage(job: JobID(raw: 8), event: .text(slot: 0, piece: "ignored")))
        s.apply(JobMessage(job: job, event: .text(slot: 0, piece: " not?")))
        #expect(s.output == "Why not?")
        s.nudge(.temperature, steps: 1)
        #expect(s.isStale)
        #expect(!s.wantsRerun) // still running
        s.apply(JobMessage(job: job, event: .jobEnded(kind: .generation, state: .finished)))
        #expect(s.wantsRerun)
        s.autoRerun = false
        #expect(!s.wantsRerun && s.isStale)
        s.promptTokenCount = 100
        // The meter counts the prompt and the generated tokens.
        #expect(s.contextUsedTokens == 100 + s.generatedTokens)
        #expect(abs(s.contextFraction - Double(100 + s.generatedTokens) / 1000) < 1e-12)
        #expect(s.wantsRerun == false && s.wantsRestart == false) // auto re-run is off
    }
}

@Suite struct TrainPaneStateTests {
    private func step(_ n: Int, loss: Double, val: Double? = nil, extra: [String: Double] = [:]) -> RunEvent {
        .step(StepMetrics(step: n, totalSteps: 10, loss: loss, validationLoss: val, learningRate: 1e-4, gradNorm: 1,
                          tokensPerSecond: 100, elapsedSeconds: Double(n), etaSeconds: Double(10 - n), extra: extra))
    }

    @Test func buildsSeriesAndStatusFromRunEvents() {
        var s = TrainPaneState()
        s.runningJob = JobID(raw: 1)
        s.apply(.started(firstStep: 1, totalSteps: 10, resumed: false))
        for n in 1...5 { s.apply(step(n, loss: 3 - Double(n) * 0.1, val: n == 5 ? 2.9 : nil, extra: ["kl": 0.01 * Double(n)])) }
        #expect(s.status == .running && s.step == 5 && s.progress == 0.5 && s.etaSeconds == 5)
        #expect(s.series("loss").points.map(\.step) == [1, 2, 3, 4, 5])
        #expect(s.series("val_loss").points.map(\.value) == [2.9])
        #expect(s.series("kl").points.count == 5)
        // A resume from step 3 replays steps 4 and 5: the chart must not double them.
        s.apply(.started(firstStep: 4, totalSteps: 10, resumed: true))
        s.apply(step(4, loss: 1.0))
        #expect(s.series("loss").points.map(\.step) == [1, 2, 3, 4])
        #expect(s.series("loss").points.last?.value == 1.0)
        s.apply(.paused(step: 4))
        #expect(s.status == .paused)
        s.apply(JobMessage(job: JobID(raw: 1), event: .jobEnded(kind: .training, state: .failed("loss became nan at step 5"))))
        #expect(s.status == .failed("loss became nan at step 5") && s.runningJob == nil)
        #expect(TrainingMethod.dpo.charts.flatMap(\.series).contains("rewards/margins"))
        #expect(TrainingMethod.rlhf.charts.flatMap(\.series).contains("kl"))
    }
}

@Suite struct EvaluatePaneStateTests {
    @Test func sortsByMetricKeepsSelectionAndAverages() {
        var s = EvaluatePaneState()
        s.add(EvaluationRow(id: "a", scores: ["rouge1": 0.5, "bleu": 10], prediction: "", reference: ""))
        s.add(EvaluationRow(id: "b", scores: ["rouge1": 0.9], prediction: "", reference: ""))
        s.add(EvaluationRow(id: "c", scores: ["rouge1": 0.1, "bleu": 30], prediction: "", reference: ""))
        #expect(s.columns == ["bleu", "rouge1"])
        s.selected = 1 // "b"
        s.sort(by: "rouge1")
        #expect(s.rows.map(\.id) == ["b", "a", "c"])
        #expect(s.selectedRow?.id == "b")
        s.sort(by: "rouge1") // flips
        #expect(s.rows.map(\.id) == ["c", "a", "b"])
        s.sort(by: "bleu") // rows without the metric go last
        #expect(s.rows.map(\.id) == ["c", "a", "b"])
        #expect(s.means["bleu"] == 20)
        s.moveSelection(by: 10)
        #expect(s.selected == 2)
    }
}

@Suite struct ComparePaneStateTests {
    @Test func diffsAndTurnsAPickIntoAPreferencePair() throws {
        var s = try ComparePaneState(columns: [CompareColumn(label: "A", model: "m"), CompareColumn(label: "B", model: "m")])
        #expect(throws: CompareError.self) { try ComparePaneState(columns: [CompareColumn(label: "A", model: "m")]) }
        s.input = "Capital of Italy?"
        let job = JobID(raw: 3)
        s.startRound(job)
        let empty = s
        #expect(throws: CompareError.needsTwoOutputs) { try empty.preference(preferA: true) }
        s.apply(JobMessage(job: job, event: .text(slot: 0, piece: "Rome is the capital.")))
        s.apply(JobMessage(job: job, event: .text(slot: 1, piece: "Milan is the capital.")))
        s.apply(JobMessage(job: job, event: .text(slot: 9, piece: "out of range is ignored")))
        #expect(s.diff().filter { $0.kind != .same }.map(\.text) == ["Rome", "Milan"])
        let pair = try s.preference(preferA: true)
        #expect(pair == ("Capital of Italy?", "Rome is the capital.", "Milan is the capital."))
        try s.addColumn(CompareColumn(label: "C", model: "m"))
        try s.addColumn(CompareColumn(label: "D", model: "m"))
        var full = s
        #expect(throws: CompareError.self) { try full.addColumn(CompareColumn(label: "E", model: "m")) }
    }
}
