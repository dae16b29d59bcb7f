/// Errors the tensor core raises on shapes or arguments that came from outside
/// (a file, a command line). Programming errors inside the engine use preconditions.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(operation: String, lhs: [Int], rhs: [Int])
    case invalidShape(operation: String, shape: [Int], expected: String)
    case countMismatch(shape: [Int], count: Int)
    case indexOutOfRange(operation: String, index: Int, bound: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, lhs, rhs):
            return "\(op): shapes \(lhs) and \(rhs) do not fit together"
        case let .invalidShape(op, shape, expected):
            return "\(op): got shape \(shape), expected \(expected)"
        case let .countMismatch(shape, count):
            return "shape \(shape) needs \(shape.reduce(1, *)) values, got \(count)"
        case let .indexOutOfRange(op, index, bound):
            return "\(op): index \(index) is outside 0..<\(bound)"
        }
    }
}
