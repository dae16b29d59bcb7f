import Testing
import Training

@Test func trainingModuleLinks() {
    #expect(!TrainingModule.summary.isEmpty)
}
