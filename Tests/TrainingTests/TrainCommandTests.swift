import Foundation
import Testing
import TestSupport
@testable import Training

#if canImport(Glibc)
import Glibc
#endif

private func losses(_ folder: URL) throws -> [Int: Double] {
    let lines = try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
    var out: [Int: Double] = [:]
    for line in lines {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        out[try #require(object["step"] as? Int)] = try #require(object["loss"] as? Double)
    }
    return out
}

private func temporaryFolder(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("whet-\(name)-\(UUID().uuidString)")
}

@Suite(.serialized) struct TrainCommandTests {
    /// A small pretraining run, the same seed and settings each time.
    static func pretrainArguments(out: URL, steps: Int) -> [String] {
        ["train", "pretrain", "--data", "data/samples/corpus.txt", "--out", out.path, "--steps", "\(steps)",
         "--hidden-size", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--intermediate-size", "128",
         "--seq-len", "64", "--batch-size", "4", "--layout", "pack", "--lr", "3e-3", "--checkpoint-every", "3",
         "--val-every", "5", "--seed", "7", "--threads", "1"]
    }

    /// kill -9 in the middle of a run, then --resume: the steps after the last checkpoint are trained
    /// again and the whole loss curve equals an uninterrupted run's.
    @Test func killedRunResumesOnTheSameLossCurve() throws {
        guard let binary = TestModels.whetBinary() else {
            Issue.record("the whet binary is not built; run swift build first")
            return
        }
        let steps = 40
        let straight = temporaryFolder("straight")
        let full = try TestModels.runWhet(Self.pretrainArguments(out: straight, steps: steps) + ["--json"])
        #expect(full.status == 0, "\(full.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(full.stdout.utf8)) as? [String: Any])
        #expect(summary["steps"] as? Int == steps)
        let reference = try losses(straight)
        #expect(reference.count == steps)
        // The model learned something: the last steps are well below the first.
        #expect(reference[steps]! < reference[1]! - 0.5)
        // The result loads as a Llama folder.
        #expect(FileManager.default.fileExists(atPath: straight.appendingPathComponent("model/config.json").path))

        let killed = temporaryFolder("killed")
        let process = Process()
        process.executableURL = binary
        process.arguments = Self.pretrainArguments(out: killed, steps: steps)
        process.currentDirectoryURL = TestModels.repositoryRoot
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill once a checkpoint past step 3 exists and the run is still going.
        let checkpoints = CheckpointStore(folder: killed.appendingPathComponent("checkpoints"))
        var killedAt: Int?
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning {
            if let latest = try? checkpoints.latest(), latest.state.step >= 6 {
                kill(process.processIdentifier, SIGKILL)
                killedAt = latest.state.step
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        let step = try #require(killedAt, "the run finished before it could be killed")
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(step < steps)

        let resumed = try TestModels.runWhet(Self.pretrainArguments(out: killed, steps: steps) + ["--resume", "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming at step"))
        let after = try losses(killed)
        #expect(after.count == steps)
        var maxDiff = 0.0
        for s in 1...steps { maxDiff = max(maxDiff, abs((after[s] ?? .nan) - (reference[s] ?? .nan))) }
        #expect(maxDiff == 0, "killed at checkpoint \(step); max |Δloss| \(maxDiff)")

        // A resume with other settings is refused with a message naming them.
        let changed = try TestModels.runWhet(Self.pretrainArguments(out: killed, steps: steps).map { $0 == "3e-3" ? "1e-3" : $0 } + ["--resume"])
        #expect(changed.status != 0 && changed.stderr.contains("lr"))
    }

    /// Ctrl-C (SIGINT) mid-run stops after the current step with a checkpoint of it (none was due:
    /// --checkpoint-every is past the end), exits 130 saying how to continue, and --resume then
    /// finishes on the loss curve of an uninterrupted run.
    @Test func interruptedRunSavesItsLastStepAndResumes() throws {
        guard let binary = TestModels.whetBinary() else {
            Issue.record("the whet binary is not built; run swift build first")
            return
        }
        let steps = 40
        func arguments(_ out: URL) -> [String] {
            Self.pretrainArguments(out: out, steps: steps).map { $0 == "3" ? "100" : $0 }
        }
        let straight = temporaryFolder("straight-int")
        let full = try TestModels.runWhet(arguments(straight))
        #expect(full.status == 0, "\(full.stderr)")
        let reference = try losses(straight)

        let interrupted = temporaryFolder("interrupted")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments(interrupted)
        process.currentDirectoryURL = TestModels.repositoryRoot
        let stderr = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        try process.run()
        let metrics = interrupted.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(120)
        var signalled = false
        while Date() < deadline && process.isRunning {
            if let text = try? String(contentsOf: metrics, encoding: .utf8), text.split(separator: "\n").count >= 3 {
                kill(process.processIdentifier, SIGINT)
                signalled = true
                break
            }
            usleep(2_000)
        }
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(signalled, "the run finished before it could be interrupted")
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(message)")
        let stoppedAt = try #require(try CheckpointStore(folder: interrupted.appendingPathComponent("checkpoints")).latest()).state.step
        #expect(stoppedAt >= 3 && stoppedAt < steps)
        #expect(message.contains("stopped at step \(stoppedAt) of \(steps)") && message.contains("--resume"), "\(message)")
        #expect(try losses(interrupted).count == stoppedAt)

        let resumed = try TestModels.runWhet(arguments(interrupted) + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try losses(interrupted)
        #expect(after.count == steps)
        for step in 1...steps { #expect(after[step] == reference[step], "step \(step)") }
    }

    /// A few LoRA steps on Gemma 3 270M with the shipped SFT sample lower the training loss, and the
    /// adapter is written in PEFT layout and accepted by `whet generate --adapter`.
    @Test(.enabled(if: TestModels.hasGemma)) func loRAOnGemmaLowersTheLossAndTheAdapterGenerates() throws {
        let model = try #require(try TestModels.gemma())
        let out = temporaryFolder("lora")
        let run = try TestModels.runWhet([
            "train", "lora", "--model", model.path, "--data", "data/samples/sft.jsonl", "--out", out.path,
            "--steps", "6", "--batch-size", "2", "--seq-len", "48", "--rank", "8", "--targets", "q,k,v,o",
            "--lr", "2e-3", "--val-fraction", "0.1", "--val-every", "0", "--checkpoint-every", "0", "--seed", "1", "--json",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let curve = try losses(out)
        #expect(curve.count == 6)
        let firstHalf = (1...3).compactMap { curve[$0] }.reduce(0, +) / 3
        let secondHalf = (4...6).compactMap { curve[$0] }.reduce(0, +) / 3
        #expect(secondHalf < firstHalf, "loss curve \((1...6).compactMap { curve[$0] })")

        let adapter = out.appendingPathComponent("adapter")
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: adapter.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        #expect(config["peft_type"] as? String == "LORA" && config["r"] as? Int == 8)
        #expect(Set(config["target_modules"] as? [String] ?? []) == ["q_proj", "k_proj", "v_proj", "o_proj"])

        let generated = try TestModels.runWhet(["generate", "--model", model.path, "--adapter", adapter.path, "--prompt",
                                                "What is the capital of Spain?", "--max-tokens", "8", "--temperature", "0", "--json"])
        #expect(generated.status == 0, "\(generated.stderr)")
        #expect(generated.stdout.contains("\"text\""))
    }
}
