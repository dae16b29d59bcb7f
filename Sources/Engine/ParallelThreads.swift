import CBLAS

public extension Parallel {
    /// Caps the engine's lanes and OpenBLAS's threads together (`--threads`), so a benchmark with
    /// one thread really runs on one core.
    static func limitThreads(to threads: Int) {
        limitLanes(to: threads)
        openblas_set_num_threads(Int32(max(1, threads)))
    }
}

/// OpenBLAS threading around code that already splits its work over `WorkerPool`.
public enum BLASThreads {
    /// Runs `body` with OpenBLAS on one thread and restores the previous count afterwards.
    /// The Gemma session calls `cblas_sgemm` from inside its own parallel lanes; OpenBLAS's
    /// threads would oversubscribe the cores and keep spinning after every call (OpenBLAS's
    /// pthreads server busy-waits for a long while between jobs), taking a core from our lanes.
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        let previous = openblas_get_num_threads()
        if previous != 1 { openblas_set_num_threads(1) }
        defer { if previous != 1 { openblas_set_num_threads(previous) } }
        return try body()
    }
}
