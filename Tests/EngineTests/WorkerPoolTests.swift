import Foundation
import Testing
@testable import Engine

@Suite struct WorkerPoolTests {
    @Test func everyLaneRunsExactlyOnce() {
        let pool = WorkerPool(workers: 3)
        for lanes in [1, 2, 4, 7] {
            var hits = [Int](repeating: 0, count: lanes)
            hits.withUnsafeMutableBufferPointer { buf in
                let p = buf.baseAddress!
                for _ in 0..<200 { pool.run(lanes: lanes) { p[$0] += 1 } }
            }
            #expect(hits == [Int](repeating: 200, count: lanes))
        }
    }

    @Test func nestedAndConcurrentCallersStillCoverEverything() {
        // Several threads use the shared pool at once, each also nesting a parallel call:
        // whoever finds the pool busy runs its lanes itself.
        let threads = 4, count = 10_000
        let results = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads * count)
        results.initialize(repeating: 0)
        defer { results.deallocate() }
        let box = UncheckedSendableBox(results)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let base = box.value.baseAddress! + t * count
            Parallel.forRanges(count, lanes: 2) { outer in
                Parallel.forRanges(outer.count, lanes: 2) { inner in
                    for i in inner { base[outer.lowerBound + i] += 1 }
                }
            }
        }
        #expect(results.allSatisfy { $0 == 1 })
    }

    @Test func laneLimitCapsDefaultLanes() {
        Parallel.limitLanes(to: 1)
        #expect(Parallel.defaultLanes == 1)
        Parallel.limitLanes(to: 0)
        #expect(Parallel.defaultLanes == ProcessInfoCores.active)
    }
}
