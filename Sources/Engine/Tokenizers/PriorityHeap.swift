/// Something a `PriorityHeap` orders: `before` says which of two comes out first.
protocol HeapOrdered {
    func before(_ other: Self) -> Bool
}

/// A binary heap whose `pop` returns the element that comes `before` all others: the merge queue
/// of both the SentencePiece and the byte-level BPE tokenizers.
struct PriorityHeap<Element: HeapOrdered> {
    private var items: [Element] = []

    mutating func removeAll(keepingCapacity: Bool) { items.removeAll(keepingCapacity: keepingCapacity) }

    mutating func push(_ element: Element) {
        items.append(element)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !items[i].before(items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        items[0] = last
        var i = 0
        let count = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < count, items[l].before(items[best]) { best = l }
            if r < count, items[r].before(items[best]) { best = r }
            if best == i { break }
            items.swapAt(i, best)
            i = best
        }
        return top
    }
}
