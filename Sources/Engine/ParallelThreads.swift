import CBLAS

public extension Parallel {
    /// Caps the engine's lanes and OpenBLAS's threads together (`--threads`), so a benchmark with
    /// one thread really runs on one core.
    static func limitThreads(to threads: Int) {
        limitLanes(to: threads)
        _ = blasOnOneThread
    }

    /// OpenBLAS runs on one thread in this process (set once, before the first parallel kernel).
    /// The engine splits its work over WorkerPool lanes that call OpenBLAS inside them; OpenBLAS's
    /// own threads oversubscribed the cores, busy-waited between calls and — when lanes called it
    /// concurrently — made results differ from run to run (a DPO policy and its identical reference
    /// disagreed by 1e-8). Large top-level products are split over the lanes instead (Tensor.matmul).
    static let blasOnOneThread: Void = { openblas_set_num_threads(1) }()
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
