import CKernels
import Foundation
import Synchronization

/// Persistent worker threads for the row-splitting kernels.
///
/// Decoding one token calls a parallel kernel about a hundred times, microseconds apart; waking
/// Dispatch worker threads for each costs more than the work on a small model. These workers spin
/// briefly between jobs and sleep on a condition variable when idle, so the pool costs nothing
/// while the user is only typing. One job runs at a time: a caller that finds the pool busy (a
/// nested call, or a second session) runs its lanes on its own thread instead.
///
/// Lanes are claimed, not assigned: the caller and every awake worker take the next unclaimed lane
/// from one atomic word until none is left, and the caller returns once every lane has finished.
/// On a shared machine a worker may not be scheduled for milliseconds; the caller then simply runs
/// that worker's lanes itself instead of waiting for it.
// @unchecked Sendable: lanes are claimed through atomics and the sleep state is read and written only with `sleepLock` held.
public final class WorkerPool: @unchecked Sendable {
    /// Sized to the active cores (the caller's thread is one of the lanes).
    public static let shared = WorkerPool(workers: max(0, ProcessInfoCores.active - 1))

    public let workerCount: Int
    /// Job generation (bits 40...), lane count (bits 20..<40) and next unclaimed lane (bits 0..<20)
    /// in one word. A claim is a compare-exchange of the whole word, so a late worker can never
    /// claim a lane of a job it has not seen, nor touch `job` then.
    private let claim = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepLock = NSCondition()
    /// The current job; written before `claim` publishes the new generation (release) and read
    /// only by a thread holding a claimed lane of that generation, which the caller waits for.
    nonisolated(unsafe) private var job: ((Int) -> Void)?
    /// Spin iterations before an idle worker goes to sleep (about a millisecond).
    private let spinLimit = 20_000

    public init(workers: Int) {
        workerCount = workers
        for index in 0..<workers {
            // The threads keep the pool alive (they never exit): a pool that could be freed while a
            // worker still spins on its atomics would be a use-after-free. Make few pools.
            let thread = Thread { self.workerLoop() }
            thread.name = "whet.worker.\(index + 1)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Calls `body(lane)` for lane in 0..<lanes, in parallel where the pool is free, and returns
    /// when every lane is done.
    public func run(lanes: Int, _ body: (Int) -> Void) {
        guard lanes > 1, workerCount > 0,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for lane in 0..<max(lanes, 0) { body(lane) }
            return
        }
        let lanes = min(lanes, 0xFFFFF)
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            finished.store(0, ordering: .relaxed)
            let generation = ((claim.load(ordering: .relaxed) >> 40) &+ 1) & 0x7F_FFFF
            sleepLock.lock()
            claim.store(generation << 40 | lanes << 20, ordering: .releasing)
            sleepLock.broadcast()
            sleepLock.unlock()
            let mine = runClaimedLanes(generation: generation)
            if mine < lanes {
                while finished.load(ordering: .acquiring) < lanes - mine { whet_cpu_relax() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims and runs lanes of `generation` until none is left; returns how many this thread ran.
    /// Workers report their lanes through `finished`; the caller counts its own.
    @discardableResult
    private func runClaimedLanes(generation: Int, isWorker: Bool = false) -> Int {
        var ran = 0
        var word = claim.load(ordering: .acquiring)
        while word >> 40 == generation {
            let lane = word & 0xFFFFF
            guard lane < (word >> 20) & 0xFFFFF else { break }
            let (exchanged, current) = claim.compareExchange(expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
            if !exchanged { word = current; continue }
            if let work = job { work(lane) }
            ran += 1
            if isWorker { finished.add(1, ordering: .releasing) }
            word = claim.load(ordering: .acquiring)
        }
        return ran
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var spins = 0
            while claim.load(ordering: .acquiring) >> 40 == seen {
                spins += 1
                if spins < spinLimit {
                    whet_cpu_relax()
                } else {
                    sleepLock.lock()
                    while claim.load(ordering: .acquiring) >> 40 == seen { sleepLock.wait() }
                    sleepLock.unlock()
                }
            }
            seen = claim.load(ordering: .acquiring) >> 40
            runClaimedLanes(generation: seen, isWorker: true)
        }
    }
}
