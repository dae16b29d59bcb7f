import Synchronization

/// What the callback of long-running work (generation, training, evaluation, comparison) answers
/// to each event it is shown: go on, or stop within one step or token. One type for every loop, so
/// the workbench and the command line answer all of them the same way.
public enum Directive: Sendable, Equatable {
    case proceed
    case stop
}

/// A one-way "please stop" shared between the thread that asks and the loop that checks it once a
/// step or token: the one cancellation primitive of the engine, the loops and the workbench.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .releasing) }

    public var isCancelled: Bool { flag.load(ordering: .acquiring) }
}
