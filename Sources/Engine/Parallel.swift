import Synchronization

/// Splits `count` independent rows over the cores, on the persistent `WorkerPool`.
public enum Parallel {
    private static let laneLimit = Atomic<Int>(0)

    /// Number of lanes kernels split into: the active processor count, or fewer after
    /// `limitLanes(to:)` (e.g. `whet bench --threads 1`).
    public static var defaultLanes: Int {
        _ = blasOnOneThread
        let limit = laneLimit.load(ordering: .relaxed)
        return limit > 0 ? min(limit, ProcessInfoCores.active) : ProcessInfoCores.active
    }

    /// Caps the lanes used by default (0 or less removes the cap).
    public static func limitLanes(to lanes: Int) { laneLimit.store(max(0, lanes), ordering: .relaxed) }

    /// Calls `body(range)` on disjoint sub-ranges of `0..<count`, in parallel when worth it.
    /// `minimumPerLane` keeps tiny jobs on the calling thread where dispatch would cost more.
    /// `piecesPerLane` > 1 cuts the work finer than one piece per lane, so a lane whose core is
    /// busy with another process leaves its remaining pieces to the others (pieces are claimed).
    public static func forRanges(_ count: Int, lanes: Int = Parallel.defaultLanes, minimumPerLane: Int = 1,
                                 piecesPerLane: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let most = count / max(1, minimumPerLane)
        let usable = max(1, min(lanes, most))
        if usable == 1 {
            body(0..<count)
            return
        }
        let pieces = max(usable, min(usable * max(1, piecesPerLane), most))
        let chunk = (count + pieces - 1) / pieces
        WorkerPool.shared.run(lanes: pieces) { piece in
            let start = piece * chunk
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }
}

/// Carries a value across a concurrency boundary the caller has proven safe.
// @unchecked Sendable: by definition: the caller proves the crossing safe (disjoint writes or read-only).
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

enum ProcessInfoCores {
    /// Read once: sysconf(_SC_NPROCESSORS_ONLN) opens and parses a sysfs file on every call, and
    /// `Parallel.defaultLanes` is asked for it on every parallel kernel call.
    static let active: Int = measure()

    private static func measure() -> Int {
        #if canImport(Foundation)
        return max(1, sysconfActive())
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
private func sysconfActive() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#elseif canImport(Darwin)
import Darwin
private func sysconfActive() -> Int { Int(sysconf(_SC_NPROCESSORS_ONLN)) }
#else
private func sysconfActive() -> Int { 1 }
#endif
