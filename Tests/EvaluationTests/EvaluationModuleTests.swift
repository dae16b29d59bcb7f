import Testing
import Evaluation

@Test func evaluationModuleLinks() {
    #expect(!EvaluationModule.summary.isEmpty)
}
