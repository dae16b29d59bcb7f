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
public final class WorkerPool: @unchecked Sendable {
    /// Sized to the active cores (the caller's thread is one of the lanes).
    public static let shared = WorkerPool(workers: max(0, ProcessInfoCores.active - 1))

    public let workerCount: Int
    private let epoch = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepLock = NSCondition()
    /// The current job; written before `epoch` is published (release) and read after it is seen (acquire).
    nonisolated(unsafe) private var job: ((Int) -> Void)?
    nonisolated(unsafe) private var jobLanes = 0
    /// Spin iterations before an idle worker goes to sleep (about a millisecond).
    private let spinLimit = 20_000

    public init(workers: Int) {
        workerCount = workers
        for index in 0..<workers {
            let thread = Thread { [unowned self] in self.workerLoop(lane: index + 1) }
            thread.name = "whet.worker.\(index + 1)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Calls `body(lane)` for lane in 0..<lanes, in parallel where the pool is free, and returns
    /// when every lane is done. Lane 0 runs on the calling thread.
    public func run(lanes: Int, _ body: (Int) -> Void) {
        guard lanes > 1, workerCount > 0,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for lane in 0..<max(lanes, 0) { body(lane) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let usable = min(lanes, workerCount + 1)
            job = escapable
            jobLanes = usable
            pending.store(workerCount, ordering: .relaxed)
            sleepLock.lock()
            epoch.add(1, ordering: .releasing)
            sleepLock.broadcast()
            sleepLock.unlock()
            escapable(0)
            // Lanes beyond the worker count (not used by Parallel) run here too.
            if lanes > usable { for lane in usable..<lanes { escapable(lane) } }
            while pending.load(ordering: .acquiring) > 0 { whet_cpu_relax() }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func workerLoop(lane: Int) {
        var seen = 0
        while true {
            var spins = 0
            while epoch.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < spinLimit {
                    whet_cpu_relax()
                } else {
                    sleepLock.lock()
                    while epoch.load(ordering: .acquiring) == seen { sleepLock.wait() }
                    sleepLock.unlock()
                }
            }
            seen = epoch.load(ordering: .acquiring)
            if lane < jobLanes, let work = job { work(lane) }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
