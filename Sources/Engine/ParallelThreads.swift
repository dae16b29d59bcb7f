import CBLAS

public extension Parallel {
    /// Caps the engine's lanes and OpenBLAS's threads together (`--threads`), so a benchmark with
    /// one thread really runs on one core.
    static func limitThreads(to threads: Int) {
        limitLanes(to: threads)
        openblas_set_num_threads(Int32(max(1, threads)))
    }
}
