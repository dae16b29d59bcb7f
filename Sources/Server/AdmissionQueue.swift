/// The server's one admission queue: at most `limit` generations run at once (the backend's
/// `concurrency`); later requests wait in arrival order.
public actor AdmissionQueue {
    public let limit: Int
    private var active = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(limit: Int) { self.limit = max(1, limit) }

    public func acquire() async {
        if active < limit, waiters.isEmpty {
            active += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func release() {
        if waiters.isEmpty {
            active = max(0, active - 1)
        } else {
            // Hand the slot straight to the oldest waiter: `active` stays the same.
            waiters.removeFirst().resume()
        }
    }

    public var waiting: Int { waiters.count }
    public var running: Int { active }
}

extension AdmissionQueue {
    /// Runs `body` holding a slot, released however `body` ends.
    public nonisolated func withSlot<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire()
        do {
            let value = try await body()
            await release()
            return value
        } catch {
            await release()
            throw error
        }
    }
}
