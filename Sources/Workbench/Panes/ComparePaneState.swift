import Evaluation

/// One column of the Compare pane: a configuration and what it produced.
public struct CompareColumn: Sendable, Equatable {
    public var label: String
    public var model: String
    public var adapter: String?
    public var parameters: GenerationParameters
    public var output = ""
    public var stats: GenerationStats?

    public init(label: String, model: String, adapter: String? = nil, parameters: GenerationParameters = GenerationParameters()) {
        self.label = label
        self.model = model
        self.adapter = adapter
        self.parameters = parameters
    }
}

public enum CompareError: Error, Equatable, CustomStringConvertible {
    case columnCount(Int)
    case needsTwoOutputs
    public var description: String {
        switch self {
        case let .columnCount(n): return "Compare shows 2 to 4 configurations, not \(n)"
        case .needsTwoOutputs: return "pick a winner once both columns have produced an answer"
        }
    }
}

/// Two to four configurations run on the same input, side by side, with a word diff of the first
/// two and a pick that becomes a preference pair.
public struct ComparePaneState: Sendable, Equatable {
    public var input = ""
    public private(set) var columns: [CompareColumn]
    public var runningJob: JobID?

    /// Two columns: always within the 2…4 rule, so this cannot fail.
    public init(pair first: CompareColumn, _ second: CompareColumn) {
        columns = [first, second]
    }

    public init(columns: [CompareColumn]) throws {
        guard (2...4).contains(columns.count) else { throw CompareError.columnCount(columns.count) }
        self.columns = columns
    }

    public mutating func addColumn(_ c: CompareColumn) throws {
        guard columns.count < 4 else { throw CompareError.columnCount(columns.count + 1) }
        columns.append(c)
    }

    public mutating func removeColumn(at i: Int) throws {
        guard columns.count > 2, columns.indices.contains(i) else { throw CompareError.columnCount(columns.count - 1) }
        columns.remove(at: i)
    }

    /// Clears outputs before a new round on the same input.
    public mutating func startRound(_ job: JobID) {
        runningJob = job
        for i in columns.indices {
            columns[i].output = ""
            columns[i].stats = nil
        }
    }

    public mutating func apply(_ message: JobMessage) {
        guard message.job == runningJob else { return }
        switch message.event {
        case let .text(slot, piece) where columns.indices.contains(slot): columns[slot].output += piece
        case let .generated(slot, piece, _, _) where columns.indices.contains(slot): columns[slot].output += piece
        case let .generationFinished(slot, stats) where columns.indices.contains(slot): columns[slot].stats = stats
        case .jobEnded: runningJob = nil
        default: break
        }
    }

    /// Word diff from column `a` to column `b` (removed = only in a, added = only in b).
    public func diff(_ a: Int = 0, _ b: Int = 1) -> [WordDiff.Segment] {
        guard columns.indices.contains(a), columns.indices.contains(b) else { return [] }
        return WordDiff.diff(columns[a].output, columns[b].output)
    }

    /// The preference pair for a pick between columns `a` and `b` (`preferA` false means b won).
    public func preference(preferA: Bool, _ a: Int = 0, _ b: Int = 1) throws -> (prompt: String, chosen: String, rejected: String) {
        guard columns.indices.contains(a), columns.indices.contains(b),
              !columns[a].output.isEmpty, !columns[b].output.isEmpty else { throw CompareError.needsTwoOutputs }
        let (w, l) = preferA ? (a, b) : (b, a)
        return (input, columns[w].output, columns[l].output)
    }
}
