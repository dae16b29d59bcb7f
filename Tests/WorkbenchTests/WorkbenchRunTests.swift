import Foundation
import Testing
import TestSupport
@testable import TUI
import TUITesting
import Training
@testable import Workbench

/// Train and Evaluate runs in the workbench, and quitting while one is active.
///
/// The pictures of a run in progress are driven by `RunEvent`s posted to the shell's job inbox as
/// the training queue would post them (the pane's job id is set by hand, no model needed); the
/// real-model test at the end starts an actual DPO run from the pane.
@Suite struct WorkbenchRunTests {
    /// A running job of the Train pane whose events the test posts itself.
    static func fakeRun(_ d: ShellDriver, method: TrainingMethod, job: Int = 900) -> JobID {
        let id = JobID(raw: job)
        d.shell.train.method.select(TrainingMethod.allCases.firstIndex(of: method) ?? 0)
        var state = TrainPaneState()
        state.method = method
        state.status = .running
        state.runningJob = id
        d.shell.train.state = state
        return id
    }

    static func post(_ d: ShellDriver, _ job: JobID, _ event: RunEvent) {
        d.shell.jobs.inbox.post(JobMessage(job: job, event: .training(event)))
    }

    /// Step figures shaped like the method's (values made up for the picture, not a result).
    static func steps(_ method: TrainingMethod, count: Int, total: Int) -> [RunEvent] {
        (1...count).map { s in
            let t = Double(s)
            let extra: [String: Double]
            switch method {
            case .dpo: extra = ["rewards/margins": 0.02 * t, "rewards/chosen": 0.01 * t, "rewards/rejected": -0.01 * t,
                                "rewards/accuracies": min(1, 0.5 + 0.05 * t)]
            case .reward: extra = ["accuracy": min(1, 0.5 + 0.05 * t), "margin": 0.1 * t]
            case .rlhf: extra = ["reward": -1 + 0.1 * t, "reward_std": 0.5, "kl": 0.001 * t * t, "completions/mean_length": 20 + t]
            default: extra = [:]
            }
            return .step(StepMetrics(step: s, totalSteps: total, loss: 0.6931 - 0.02 * t, validationLoss: nil, learningRate: 2e-4,
                                     gradNorm: 1, tokensPerSecond: 30, elapsedSeconds: 10 * t, etaSeconds: 10 * Double(total - s),
                                     extra: extra))
        }
    }

    @Test(arguments: zip([120, 80], [40, 24]))
    func trainRunPicturesAtBothSizes(width: Int, height: Int) {
        for method in [TrainingMethod.dpo, .reward, .rlhf] {
            let d = ShellDriver(width: width, height: height)
            d.shell.select(pane: 3)
            d.settle()
            let job = Self.fakeRun(d, method: method)
            Self.post(d, job, .started(firstStep: 1, totalSteps: 20, resumed: false))
            for e in Self.steps(method, count: 8, total: 20) { Self.post(d, job, e) }
            d.settle()
            #expect(d.shell.train.state.step == 8)
            for series in method.charts.flatMap(\.series) where series != "val_loss" && series != "eval/loss" && series != "eval/accuracy" {
                #expect(d.shell.train.state.series(series).points.count == 8, "\(method) \(series)")
            }
            expectMatchesSnapshot(d.text, "train-\(method.rawValue)-running-\(width)x\(height)")
        }
    }

    @Test(arguments: zip([120, 80], [40, 24]))
    func rlhfWithoutARewardModelSaysWhatIsMissing(width: Int, height: Int) throws {
        let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("whet-rlhf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: workspace) }
        let d = ShellDriver(width: width, height: height, workspace: workspace)
        d.shell.select(pane: 3)
        d.settle()
        for _ in 0..<4 { d.press(.right) }  // lora → qlora → dpo → reward → rlhf
        #expect(d.shell.train.state.method == .rlhf)
        #expect(d.shell.train.dataField.text == "data/samples/preferences.jsonl")
        #expect(d.text.contains("RLHF: cannot start here"))
        expectMatchesSnapshot(d.text.replacingOccurrences(of: workspace.path, with: "WORKSPACE"), "train-rlhf-missing-\(width)x\(height)")
        d.press(.character("r"), .control)
        #expect(d.text.contains("Cannot train"))
        #expect(d.shell.train.state.runningJob == nil)
        d.press(.enter)

        // A reward model in the workspace's runs/ is found and named.
        let reward = TrainerCatalog.runsFolder(workspace: workspace).appendingPathComponent("rm-1/reward")
        try FileManager.default.createDirectory(at: reward, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: reward.appendingPathComponent(RewardModelTask.weightsFile))
        try Data("{}".utf8).write(to: reward.appendingPathComponent(RewardModelRecord.fileName))
        d.shell.select(pane: 2)
        d.shell.select(pane: 3)
        d.settle()
        #expect(d.shell.train.rewardModel == reward.path)
        #expect(d.text.contains("Ready: Ctrl-R runs RLHF with GRPO"))
    }

    @Test func resumeLastFindsTheNewestRunWithACheckpoint() throws {
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("whet-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: runs) }
        #expect(TrainerCatalog.latestResumable(.lora, in: runs) == nil)
        func make(_ name: String, method: TrainingMethod, checkpoint: Int?) throws {
            let folder = runs.appendingPathComponent(name)
            try RunRecord(method: method.rawValue, model: "/m.gguf", data: "d-\(name).jsonl", arguments: ["steps": "10"]).write(to: folder)
            if let checkpoint {
                _ = try CheckpointStore(folder: folder.appendingPathComponent("checkpoints"))
                    .write(state: TrainerState(step: checkpoint, elapsedSeconds: 1, bestValidationLoss: nil)) { _ in }
            }
        }
        try make("workbench-lora-100", method: .lora, checkpoint: 5)
        try make("workbench-lora-300", method: .lora, checkpoint: nil)   // newest, but no checkpoint
        try make("workbench-lora-200", method: .lora, checkpoint: 7)
        try make("workbench-dpo-400", method: .dpo, checkpoint: 2)
        let found = try #require(TrainerCatalog.latestResumable(.lora, in: runs))
        #expect(found.folder.lastPathComponent == "workbench-lora-200")
        #expect(found.step == 7 && found.record.data == "d-workbench-lora-200.jsonl")
        #expect(TrainerCatalog.latestResumable(.dpo, in: runs)?.step == 2)
        #expect(TrainerCatalog.latestResumable(.reward, in: runs) == nil)
    }

    @Test func loraStepsAndResumeChoiceInThePane() throws {
        let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("whet-lora-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: workspace) }
        let d = ShellDriver(workspace: workspace)
        d.shell.select(pane: 3)
        d.settle()
        let train = d.shell.train!
        d.app.focus(train.stepsSlider)
        d.settle()
        d.press(.pageUp)
        d.press(.right)
        #expect(Int(train.stepsSlider.value) == 61)
        #expect(TrainPane.describe(.lora, steps: 61, batch: 4).contains("61 steps"))
        // "resume last" with no earlier run says so; nothing starts.
        d.app.focus(train.startChoice)
        d.settle()
        d.press(.right)
        #expect(train.resumeChosen)
        #expect(d.text.contains("Nothing to resume"))
        // An earlier pane run with a checkpoint at step 25 is offered.
        let folder = TrainerCatalog.runsFolder(workspace: workspace).appendingPathComponent("workbench-lora-1000")
        try RunRecord(method: "lora", model: "/m.gguf", data: "data/samples/sft.jsonl", arguments: ["steps": "50", "batch_size": "4"])
            .write(to: folder)
        _ = try CheckpointStore(folder: folder.appendingPathComponent("checkpoints"))
            .write(state: TrainerState(step: 25, elapsedSeconds: 1, bestValidationLoss: nil)) { _ in }
        d.press(.left); d.press(.right)
        #expect(train.resumable?.step == 25)
        #expect(d.text.contains("resumes workbench-lora-1000 at step 26 of 61"))
    }

    @Test func quitAndCtrlCAskWhileATrainingRunIsActive() {
        let d = ShellDriver()
        d.shell.select(pane: 3)
        d.settle()
        _ = Self.fakeRun(d, method: .dpo)
        d.app.isRunning = true
        // Ctrl-C asks; Esc keeps the run going.
        d.press(.character("c"), .control)
        #expect(d.app.isRunning && d.app.isAskingToQuit)
        #expect(d.text.contains("Still running") && d.text.contains("training"))
        d.press(.escape)
        #expect(d.app.isRunning && !d.app.isAskingToQuit)
        // Ctrl-Q asks too; a second Ctrl-C at the question quits at once.
        d.press(.character("q"), .control)
        #expect(d.app.isAskingToQuit)
        d.press(.character("c"), .control)
        #expect(!d.app.isRunning)
        // With nothing running, Ctrl-C quits without a question.
        let idle = ShellDriver()
        idle.app.isRunning = true
        idle.press(.character("c"), .control)
        #expect(!idle.app.isRunning && idle.app.overlays.isEmpty)
    }

    @Test(arguments: zip([120, 80], [40, 24]))
    func quitQuestionPictureWhileTraining(width: Int, height: Int) {
        let d = ShellDriver(width: width, height: height)
        d.shell.select(pane: 3)
        d.settle()
        _ = Self.fakeRun(d, method: .dpo)
        d.press(.character("c"), .control)
        expectMatchesSnapshot(d.text, "quit-training-\(width)x\(height)")
    }

    @Test(arguments: zip([120, 80], [40, 24]))
    func evaluateRunPicturesAtBothSizes(width: Int, height: Int) {
        let d = ShellDriver(width: width, height: height)
        d.shell.select(pane: 4)
        d.settle()
        let evaluate = d.shell.evaluate!
        var state = EvaluatePaneState()
        state.sort(by: nil)  // by id, ascending, as a new run starts
        state.runningJob = JobID(raw: 901)
        evaluate.state = state
        evaluate.runFolder = URL(fileURLWithPath: "/tmp/runs/eval-20261130-170000-abcd")
        let job = JobID(raw: 901)
        let rows = [("1", 0.8, "In short: Paris is the capital of France."), ("2", 0.35, "An insect has six legs."),
                    ("3", 0.0, "The Sahara.")]
        d.shell.jobs.inbox.post(JobMessage(job: job, event: .progress(done: 0, total: 3)))
        for (i, r) in rows.enumerated() {
            d.shell.jobs.inbox.post(JobMessage(job: job, event: .evaluationRow(EvaluationRow(
                id: r.0, scores: ["rouge1": r.1, "rouge2": r.1 / 2, "rougeL": r.1, "rougeLsum": r.1, "bleu": r.1 * 50,
                                  "chrf": r.1 * 60, "exact_match": 0], prediction: r.2, reference: "In short: …", prompt: "Q\(r.0)?"))))
            d.shell.jobs.inbox.post(JobMessage(job: job, event: .progress(done: i + 1, total: 3)))
        }
        d.shell.jobs.inbox.post(JobMessage(job: job, event: .corpusScores(["bleu": 21.5, "chrf": 40.25])))
        d.shell.jobs.inbox.post(JobMessage(job: job, event: .jobEnded(kind: .evaluation, state: .finished)))
        d.settle()
        #expect(evaluate.state.rows.count == 3 && evaluate.state.runningJob == nil)
        expectMatchesSnapshot(d.text, "evaluate-run-\(width)x\(height)")
        d.app.focus(evaluate.table)
        d.settle()
        d.press(.home)
        d.press(.enter)
        #expect(d.text.contains("PROMPT") && d.text.contains("Q1?"))
    }
}

/// The real model in the Train and Evaluate panes (one model load): DPO from the Train pane, 2
/// steps of one pair — the charts fill, the adapter is written — then "resume last" continues the
/// same run for a third step; an eval run of one example from the Evaluate pane.
@Suite struct WorkbenchTrainRealModelTests {
    @Test(.enabled(if: TestModels.hasGemma)) func dpoRunsFromThePaneAndResumes() throws {
        let model = try #require(try TestModels.gemma())
        let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("whet-dpo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: workspace) }
        let d = ShellDriver(modelName: model.path, workspace: workspace)
        check(30, d.wait { d.shell.activeModel != nil })
        d.shell.select(pane: 3)
        d.settle()
        let train = d.shell.train!
        d.press(.right); d.press(.right)  // lora → qlora → dpo
        check(31, train.state.method == .dpo)
        train.dataField.setText(repositoryRoot.appendingPathComponent("data/samples/preferences.jsonl").path)
        train.stepsSlider.set(2)
        train.batchSize = 1
        // Ctrl-R without `press` (which waits for jobs): the run is going when the key returns.
        d.backend.press(.character("r"), .control)
        while let e = d.backend.readEvent(timeout: 0) { d.app.handle(e) }
        check(32, train.state.runningJob != nil, "\(train.state.status) \(d.text)")
        check(33, d.wait(timeout: 600) { train.state.runningJob == nil }, "the run ends")
        check(34, train.state.status == .finished, "\(train.state.status)")
        let loss = train.state.series("loss").points
        check(35, loss.map(\.step) == [1, 2])
        // Step 1: policy = reference, so the DPO loss is ln 2 and the margin 0.
        check(36, abs((loss.first?.value ?? 0) - log(2)) < 1e-3, "\(loss)")
        check(37, train.state.series("rewards/margins").points.count == 2)
        check(38, train.state.series("rewards/accuracies").points.count == 2)
        let output = try #require(train.state.output)
        check(39, FileManager.default.fileExists(atPath: URL(fileURLWithPath: output).appendingPathComponent("adapter_config.json").path))
        check(40, d.text.contains("adapter"), d.text)
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent()
        check(41, RunRecord.read(from: folder)?.method == "dpo")

        // Resume: the same folder continues at step 3.
        d.app.focus(train.startChoice)
        d.settle()
        d.press(.right)
        check(42, train.resumable?.folder.standardizedFileURL == folder.standardizedFileURL)
        train.stepsSlider.set(3)
        d.press(.character("r"), .control)
        check(43, d.wait(timeout: 600) { train.state.runningJob == nil })
        check(44, train.state.status == .finished && train.state.resumedAfter == 2, "\(train.state.status)")
        // The chart shows the whole run: steps 1–2 from metrics.jsonl, step 3 trained now.
        check(45, train.state.series("loss").points.map(\.step) == [1, 2, 3])
        check(55, train.state.series("loss").points.first?.value == loss.first?.value)
        let lines = try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        check(46, lines.count == 3)

        // Evaluate: the active model answers one question; the row, its files and the drill-down.
        let data = workspace.appendingPathComponent("qa.jsonl")
        try #"{"id": "q1", "prompt": "What is the capital of France? Answer in one word.", "reference": "Paris"}"#
            .write(to: data, atomically: true, encoding: .utf8)
        d.shell.select(pane: 4)
        d.settle()
        let evaluate = d.shell.evaluate!
        evaluate.datasetField.setText(data.path)
        d.press(.character("r"), .control)
        check(47, d.wait(timeout: 300) { evaluate.state.runningJob == nil })
        check(48, evaluate.state.rows.map(\.id) == ["q1"] && evaluate.state.done == 1 && evaluate.state.total == 1)
        check(49, evaluate.state.rows.first?.scores["rouge1"] != nil && evaluate.state.corpus["bleu"] != nil)
        check(50, evaluate.state.rows.first?.prompt.contains("capital of France") == true)
        let run = try #require(evaluate.runFolder)
        check(51, run.path.hasPrefix(workspace.appendingPathComponent("runs").path))
        let predictions = try String(contentsOf: run.appendingPathComponent("predictions.jsonl"), encoding: .utf8)
        check(52, predictions.split(separator: "\n").count == 1)
        check(53, FileManager.default.fileExists(atPath: run.appendingPathComponent("report.json").path))
        d.app.focus(evaluate.table)
        d.settle()
        d.press(.enter)
        check(54, d.text.contains("PROMPT") && d.text.contains("PREDICTION") && d.text.contains("REFERENCE"), d.text)
    }
}
