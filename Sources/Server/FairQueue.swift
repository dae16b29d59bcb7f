/// Admits at most `limit` concurrent engine sessions; later requests wait in arrival order.
public actor FairQueue {
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
