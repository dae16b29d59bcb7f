import Testing
@testable import Evaluation

@Suite struct WordDiffTests {
    private func rebuild(_ segments: [WordDiff.Segment], keeping kind: WordDiff.Kind) -> String {
        segments.filter { $0.kind == .same || $0.kind == kind }.map(\.text).joined()
    }

    @Test func marksChangedWordsOnly() {
        let d = WordDiff.diff("The cat sat on the mat.", "The dog sat on the mat.")
        #expect(d == [.init(.same, "The "), .init(.removed, "cat"), .init(.added, "dog"), .init(.same, " sat on the mat.")])
    }

    @Test func rebuildsBothSidesExactly() {
        let pairs = [("", "new text"), ("old text", ""), ("a b c d", "a c d e"), ("  lead and trail  ", "lead  and\ttrail"),
                     ("same", "same"), ("Paris is the capital.", "The capital is Paris."), ("机器 学习", "机器 很 有趣")]
        for (a, b) in pairs {
            let d = WordDiff.diff(a, b)
            #expect(rebuild(d, keeping: .removed) == a)
            #expect(rebuild(d, keeping: .added) == b)
        }
    }

    @Test func insertionAndDeletionAndSimilarity() {
        #expect(WordDiff.diff("one three", "one two three") == [.init(.same, "one "), .init(.added, "two "), .init(.same, "three")])
        #expect(WordDiff.diff("one two three", "one three") == [.init(.same, "one "), .init(.removed, "two "), .init(.same, "three")])
        #expect(WordDiff.similarity("a b", "a b") == 1)
        #expect(WordDiff.similarity("a", "b") == 0)
        #expect(WordDiff.similarity("", "") == 1)
    }

    @Test func hugeInputsFallBackToACoarseDiff() {
        let a = (0..<3000).map { "w\($0)" }.joined(separator: " ")
        let b = (0..<3000).map { "v\($0)" }.joined(separator: " ")
        let d = WordDiff.diff(a, b, limit: 1000)
        #expect(rebuild(d, keeping: .removed) == a)
        #expect(rebuild(d, keeping: .added) == b)
    }
}
