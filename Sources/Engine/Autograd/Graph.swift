/// A tensor a model owns across steps: a weight, trainable or frozen.
///
/// Gradients from every graph that used the parameter add into `grad`, so several micro-batches
/// accumulate until the optimizer steps and calls `zeroGrad()`.
// @unchecked Sendable: the value and gradient change only between steps, on the training loop's thread; parallel kernels inside a step write disjoint rows.
public final class Parameter: @unchecked Sendable {
    public let name: String
    /// The weight. Replace or update it in place between steps, never while a graph that uses it is alive.
    public var value: Tensor {
        didSet { if !value.isContiguous { value = value.contiguous() } }
    }
    /// Frozen parameters take part in the forward pass but get no gradient.
    public var isTrainable: Bool
    /// Sum of the gradients since the last `zeroGrad()`; nil until a backward pass reaches it.
    public private(set) var grad: Tensor?

    public init(name: String, value: Tensor, trainable: Bool = true) {
        self.name = name
        self.value = value.isContiguous ? value : value.contiguous()
        isTrainable = trainable
    }

    public var shape: [Int] { value.shape }

    public func zeroGrad() {
        guard let grad else { return }
        grad.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// The gradient buffer, created (zeroed) on first use.
    func gradBuffer() -> Tensor {
        if let grad { return grad }
        let made = Tensor(shape: value.shape)
        grad = made
        return made
    }
}

/// A handle to one node of a `Graph`.
public struct Value: Hashable, Sendable {
    public let id: Int
}

/// A tape for one forward pass: every operation appends a node holding its result and a closure
/// that maps the gradient of that result to gradients of its inputs. Nodes are appended in
/// execution order, which is a topological order, so `backward` walks the tape once in reverse.
///
/// Every node value is contiguous, so backward closures can use raw pointers and BLAS directly.
/// Gradients of intermediate nodes are released as soon as they have been propagated; gradients of
/// inputs created with `requiresGrad` are kept for inspection, and those of parameters go into
/// `Parameter.grad`. A graph is used from one thread and thrown away after `backward`.
public final class Graph {
    final class Node {
        let value: Tensor
        let requiresGrad: Bool
        let parameter: Parameter?
        let keepsGrad: Bool
        var grad: Tensor?
        let backward: ((Graph, Tensor) -> Void)?

        init(value: Tensor, requiresGrad: Bool, parameter: Parameter?, keepsGrad: Bool,
             backward: ((Graph, Tensor) -> Void)?) {
            self.value = value
            self.requiresGrad = requiresGrad
            self.parameter = parameter
            self.keepsGrad = keepsGrad
            self.backward = backward
        }
    }

    private var nodes: [Node] = []

    /// When false, operations record no backward closures (inference or evaluation through the same code).
    public let isRecording: Bool

    public init(recording: Bool = true) { isRecording = recording }

    public var nodeCount: Int { nodes.count }

    // MARK: leaves

    /// A constant or an input; with `requiresGrad` its gradient is kept and readable with `grad(_:)`.
    public func input(_ tensor: Tensor, requiresGrad: Bool = false) -> Value {
        append(Node(value: tensor.isContiguous ? tensor : tensor.contiguous(), requiresGrad: requiresGrad && isRecording,
                    parameter: nil, keepsGrad: true, backward: nil))
    }

    /// A parameter leaf: trainable parameters receive their gradient in `Parameter.grad`.
    public func parameter(_ p: Parameter) -> Value {
        append(Node(value: p.value.isContiguous ? p.value : p.value.contiguous(),
                    requiresGrad: p.isTrainable && isRecording, parameter: p, keepsGrad: true, backward: nil))
    }

    // MARK: access

    public func value(_ v: Value) -> Tensor { nodes[v.id].value }

    public func shape(_ v: Value) -> [Int] { nodes[v.id].value.shape }

    /// Gradient of a leaf after `backward` (nil when nothing reached it or it needs none).
    public func grad(_ v: Value) -> Tensor? {
        let node = nodes[v.id]
        if let p = node.parameter { return p.grad }
        return node.grad
    }

    public func requiresGrad(_ v: Value) -> Bool { nodes[v.id].requiresGrad }

    // MARK: recording (for operations)

    /// Appends the result of an operation. `backward` runs only if some input needs a gradient.
    func record(_ value: Tensor, inputs: [Value], backward: @escaping (Graph, Tensor) -> Void) -> Value {
        precondition(value.isContiguous, "graph values must be contiguous")
        let needs = isRecording && inputs.contains { nodes[$0.id].requiresGrad }
        return append(Node(value: value, requiresGrad: needs, parameter: nil, keepsGrad: false,
                           backward: needs ? backward : nil))
    }

    /// The gradient buffer of `v` (zeroed on first use) that backward closures add into.
    func gradBuffer(_ v: Value) -> Tensor {
        let node = nodes[v.id]
        if let p = node.parameter { return p.gradBuffer() }
        if let g = node.grad { return g }
        let made = Tensor(shape: node.value.shape)
        node.grad = made
        return made
    }

    private func append(_ node: Node) -> Value {
        nodes.append(node)
        return Value(id: nodes.count - 1)
    }

    // MARK: backward

    /// Back-propagates from `output`, seeded with `seed` (its gradient; default ones, i.e. d output / d output
    /// for a scalar loss). Gradients add into what the leaves already hold.
    public func backward(_ output: Value, seed: Tensor? = nil) throws {
        guard isRecording else {
            throw AutogradError.notRecording
        }
        let node = nodes[output.id]
        guard node.requiresGrad else { return }
        let seedTensor: Tensor
        if let seed {
            guard seed.shape == node.value.shape else {
                throw TensorError.shapeMismatch(operation: "backward seed", lhs: node.value.shape, rhs: seed.shape)
            }
            seedTensor = seed
        } else {
            seedTensor = Tensor.filled(node.value.shape, with: 1)
        }
        let buffer = gradBuffer(output)
        addInto(buffer, seedTensor.isContiguous ? seedTensor : seedTensor.contiguous())
        for id in stride(from: output.id, through: 0, by: -1) {
            let n = nodes[id]
            guard let backward = n.backward, let g = n.grad else { continue }
            backward(self, g)
            if !n.keepsGrad { n.grad = nil }
        }
    }
}

public enum AutogradError: Error, CustomStringConvertible, Equatable {
    case notRecording
    case invalidArgument(operation: String, reason: String)

    public var description: String {
        switch self {
        case .notRecording:
            return "backward on a graph built with recording off; build the graph with Graph(recording: true) to train"
        case let .invalidArgument(operation, reason):
            return "\(operation): \(reason)"
        }
    }
}

/// dst += src, elementwise over contiguous tensors of equal count.
@inline(__always)
func addInto(_ dst: Tensor, _ src: Tensor) {
    precondition(dst.count == src.count, "gradient count mismatch")
    let d = dst.basePointer, s = src.basePointer
    for i in 0..<dst.count { d[i] += s[i] }
}
