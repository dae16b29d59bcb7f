import CBLAS

public extension Parallel {
    /// OpenBLAS runs on one thread in this process (set once, before the first parallel kernel).
    /// The engine splits its work over WorkerPool lanes that call OpenBLAS inside them; OpenBLAS's
    /// own threads oversubscribed the cores, busy-waited between calls and — when lanes called it
    /// concurrently — made results differ from run to run (a DPO policy and its identical reference
    /// disagreed by 1e-8). Large top-level products are split over the lanes instead (Tensor.matmul).
    static let blasOnOneThread: Void = { openblas_set_num_threads(1) }()
}
