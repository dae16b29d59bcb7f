/// The Evaluate pane: a table of scored examples, sortable by any metric, with drill-down.
public struct EvaluatePaneState: Sendable, Equatable {
    public private(set) var rows: [EvaluationRow] = []
    /// Corpus-level figures (e.g. corpus BLEU) shown above the table.
    public var corpus: [String: Double] = [:]
    public private(set) var sortColumn: String?
    public private(set) var descending = true
    public var selected = 0
    public var done = 0
    public var total = 0
    public var runningJob: JobID?

    public init() {}

    /// Metric columns present in any row, in a stable order.
    public var columns: [String] { Array(Set(rows.flatMap(\.scores.keys))).sorted() }

    public var selectedRow: EvaluationRow? { rows.indices.contains(selected) ? rows[selected] : nil }

    /// Mean of each metric over the rows scored so far.
    public var means: [String: Double] {
        var out: [String: Double] = [:]
        for c in columns {
            let values = rows.compactMap { $0.scores[c] }
            if !values.isEmpty { out[c] = values.reduce(0, +) / Double(values.count) }
        }
        return out
    }

    /// Sorts by `column` (id when nil); choosing the current column again flips the order.
    public mutating func sort(by column: String?) {
        if column == sortColumn { descending.toggle() } else { sortColumn = column; descending = column != nil }
        resort()
    }

    public mutating func add(_ row: EvaluationRow) {
        rows.append(row)
        resort()
    }

    public mutating func moveSelection(by delta: Int) {
        guard !rows.isEmpty else { return }
        selected = min(max(selected + delta, 0), rows.count - 1)
    }

    public mutating func apply(_ message: JobMessage) {
        guard message.job == runningJob else { return }
        switch message.event {
        case let .evaluationRow(row): add(row)
        case let .progress(d, t): done = d; total = t
        case .jobEnded: runningJob = nil
        default: break
        }
    }

    private mutating func resort() {
        let selectedID = selectedRow?.id
        if let column = sortColumn {
            // Rows missing the metric go last either way; ties keep id order.
            rows.sort { a, b in
                switch (a.scores[column], b.scores[column]) {
                case let (x?, y?) where x != y: return descending ? x > y : x < y
                case (nil, _?): return false
                case (_?, nil): return true
                default: return a.id < b.id
                }
            }
        } else {
            rows.sort { descending ? $0.id > $1.id : $0.id < $1.id }
        }
        if let selectedID, let i = rows.firstIndex(where: { $0.id == selectedID }) { selected = i }
    }
}
