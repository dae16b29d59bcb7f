import Foundation

/// A thread-safe queue of events posted by background work and drained by the UI thread once a
/// frame. Posting never blocks on the UI; draining takes everything posted so far, in order.
public final class EventInbox<Event: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Event] = []
    /// Called after each post (e.g. to wake a UI loop sleeping in its input poll).
    private let onPost: (@Sendable () -> Void)?

    public init(onPost: (@Sendable () -> Void)? = nil) { self.onPost = onPost }

    public func post(_ event: Event) {
        lock.lock()
        items.append(event)
        lock.unlock()
        onPost?()
    }

    public func drain() -> [Event] {
        lock.lock()
        defer { lock.unlock() }
        let out = items
        items.removeAll(keepingCapacity: true)
        return out
    }

    public var isEmpty: Bool {
        lock.lock()
        defer { lock.unlock() }
        return items.isEmpty
    }
}
