import Foundation
import Testing
@testable import Training

@Suite struct PreferenceLossTests {
    @Test func dpoAtThePolicyEqualsReferenceIsLn2WithZeroRewards() {
        let pairs = [DPOLoss.Pair(policyChosen: -12.5, policyRejected: -9.25, referenceChosen: -12.5, referenceRejected: -9.25),
                     DPOLoss.Pair(policyChosen: -3, policyRejected: -30, referenceChosen: -3, referenceRejected: -30)]
        let r = DPOLoss.compute(pairs, beta: 0.1)
        #expect(abs(r.loss - log(2)) < 1e-12)
        #expect(r.metrics["rewards/chosen"] == 0 && r.metrics["rewards/rejected"] == 0 && r.metrics["rewards/margins"] == 0)
        #expect(r.metrics["rewards/accuracies"] == 0) // ties are not counted as correct (TRL: chosen > rejected)
        // Gradient at the start: −β·σ(0)/n = −0.025 for chosen, +0.025 for rejected.
        #expect(r.gradChosen.allSatisfy { abs($0 + 0.025) < 1e-12 })
        #expect(r.gradRejected.allSatisfy { abs($0 - 0.025) < 1e-12 })
    }

    @Test func dpoMatchesAHandComputedValueAndItsFiniteDifference() {
        // Δc = −10 − (−11) = 1, Δr = −20 − (−19) = −1, h = 2, β = 0.5 ⇒ loss = −log σ(1) = log(1 + e^−1).
        let p = DPOLoss.Pair(policyChosen: -10, policyRejected: -20, referenceChosen: -11, referenceRejected: -19)
        let r = DPOLoss.compute([p], beta: 0.5)
        #expect(abs(r.loss - log(1 + exp(-1.0))) < 1e-12)
        #expect(abs(r.metrics["rewards/margins"]! - 1.0) < 1e-12)
        #expect(r.metrics["rewards/accuracies"] == 1)
        #expect(r.metrics["logps/chosen"] == -10)
        let eps = 1e-6
        var up = p; up.policyChosen += eps
        var down = p; down.policyChosen -= eps
        let numeric = (DPOLoss.compute([up], beta: 0.5).loss - DPOLoss.compute([down], beta: 0.5).loss) / (2 * eps)
        #expect(abs(numeric - r.gradChosen[0]) < 1e-8)
        var upR = p; upR.policyRejected += eps
        var downR = p; downR.policyRejected -= eps
        let numericR = (DPOLoss.compute([upR], beta: 0.5).loss - DPOLoss.compute([downR], beta: 0.5).loss) / (2 * eps)
        #expect(abs(numericR - r.gradRejected[0]) < 1e-8)
    }

    @Test func ipoLossAndGradient() {
        let p = DPOLoss.Pair(policyChosen: -10, policyRejected: -20, referenceChosen: -11, referenceRejected: -19)
        let r = DPOLoss.compute([p], beta: 0.25, variant: .ipo)
        // h = 2, target 1/(2·0.25) = 2 ⇒ loss 0, gradient 0.
        #expect(abs(r.loss) < 1e-12 && abs(r.gradChosen[0]) < 1e-12)
        let r2 = DPOLoss.compute([p], beta: 1, variant: .ipo) // target 0.5 ⇒ (1.5)² = 2.25, grad 3
        #expect(abs(r2.loss - 2.25) < 1e-12 && abs(r2.gradChosen[0] - 3) < 1e-12)
    }

    @Test func bradleyTerryOnHandMadeScores() {
        let r = BradleyTerryLoss.compute(chosen: [2, 0, -1], rejected: [0, 0, 1])
        let expected = (log1p(exp(-2.0)) + log(2) + log1p(exp(2.0))) / 3
        #expect(abs(r.loss - expected) < 1e-12)
        #expect(abs(r.accuracy - 1.0 / 3) < 1e-12)
        #expect(abs(r.meanMargin - 0) < 1e-12)
        #expect(abs(r.gradChosen[1] + 0.5 / 3) < 1e-12)
        // Extreme margins stay finite.
        let big = BradleyTerryLoss.compute(chosen: [1000], rejected: [-1000])
        #expect(big.loss.isFinite && big.loss >= 0 && big.loss < 1e-12)
        #expect(BradleyTerryLoss.compute(chosen: [-1000], rejected: [1000]).loss == 2000)
    }

    @Test func groupAdvantagesAndKL() {
        let a = GroupAdvantages.compute(rewards: [1, 2, 3, 4])
        #expect(abs(a.reduce(0, +)) < 1e-12)
        #expect(a[0] < a[3])
        #expect(GroupAdvantages.compute(rewards: [5, 5, 5]) == [0, 0, 0])
        #expect(KLEstimate.k3(policyLogProb: -1, referenceLogProb: -1) == 0)
        #expect(KLEstimate.k3(policyLogProb: -0.5, referenceLogProb: -2) > 0)
        let eps = 1e-6
        let numeric = (KLEstimate.k3(policyLogProb: -0.5 + eps, referenceLogProb: -2) - KLEstimate.k3(policyLogProb: -0.5 - eps, referenceLogProb: -2)) / (2 * eps)
        #expect(abs(numeric - KLEstimate.k3Gradient(policyLogProb: -0.5, referenceLogProb: -2)) < 1e-8)
    }
}
