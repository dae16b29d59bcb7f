import Foundation
import Testing
import TestSupport

@Suite struct AlignmentCommandTests {
    @Test func scoreAndRLHFExplainAMissingRewardModel() throws {
        guard TestModels.whetBinary() != nil else {
            Issue.record("the whet binary is not built; run swift build first")
            return
        }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("whet-no-reward-\(UUID().uuidString)").path
        let score = try TestModels.runWhet(["score", "--reward", missing, "--prompt", "Hi", "--response", "Hello"])
        #expect(score.status != 0)
        #expect(score.stderr.contains("reward_model.json") && score.stderr.contains("whet train reward"))
        #expect(score.stderr.split(separator: "\n").count == 1)
        let usage = try TestModels.runWhet(["score", "--reward", missing])
        #expect(usage.status != 0 && usage.stderr.contains("--prompt"))
        let help = try TestModels.runWhet(["train", "dpo", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--beta") && help.stdout.contains("adapters switched off"))
    }
}
