/// Compares the gradients a graph computes with central finite differences of its forward pass.
///
/// The output is reduced to a scalar f = Σ cᵢ·outᵢ with fixed random weights c (accumulated in Float64),
/// so every output element and every path matters; the analytic gradient is the backward pass seeded
/// with c. The numeric gradient uses the fourth-order stencil
/// (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h, whose truncation error is O(h⁴): with h = 1e-2
/// it is far below the Float32 rounding noise of the forward pass, so the comparison measures the
/// backward code, not the difference scheme.
public enum GradientCheck {
    public struct Result: Sendable, CustomStringConvertible {
        public let name: String
        public let checkedElements: Int
        /// ‖analytic − numeric‖₂ / max(‖analytic‖₂, ‖numeric‖₂, floor).
        public let relativeError: Double
        /// max |analytic − numeric| / max(max |numeric|, floor).
        public let maxElementError: Double

        public var description: String {
            "\(name): \(checkedElements) elements, relative error \(relativeError), max element error \(maxElementError)"
        }
    }

    /// Checks the gradient of every trainable parameter in `parameters`. `build` must create the same
    /// computation each time it is called (fixed seeds for dropout and data).
    /// `maxElementsPerParameter` checks a seeded random subset of larger parameters.
    public static func run(parameters: [Parameter], seed: UInt64 = 0x5EED, step h: Float = 1e-2,
                           maxElementsPerParameter: Int? = nil, floor: Double = 1e-6,
                           build: (Graph) throws -> Value) throws -> [Result] {
        var generator = SeededGenerator(seed: seed)
        for p in parameters { p.zeroGrad() }
        let graph = Graph()
        let output = try build(graph)
        let weights = Tensor(shape: graph.shape(output))
        for i in 0..<weights.count { weights.basePointer[i] = generator.nextNormal() }
        try graph.backward(output, seed: weights)

        func objective() throws -> Double {
            let g = Graph(recording: false)
            let out = g.value(try build(g))
            var total = 0.0
            for i in 0..<out.count { total += Double(out.basePointer[i]) * Double(weights.basePointer[i]) }
            return total
        }

        var results: [Result] = []
        for p in parameters where p.isTrainable {
            let analytic = p.grad?.toArray() ?? [Float](repeating: 0, count: p.value.count)
            var indices = Array(0..<p.value.count)
            if let limit = maxElementsPerParameter, indices.count > limit {
                generator.shuffle(&indices)
                indices = Array(indices.prefix(limit))
            }
            let x = p.value.basePointer
            var diff2 = 0.0, a2 = 0.0, n2 = 0.0, maxDiff = 0.0, maxNumeric = 0.0
            for i in indices {
                let original = x[i]
                func at(_ k: Float) throws -> Double {
                    x[i] = original + k * h
                    return try objective()
                }
                let numeric = (-(try at(2)) + 8 * (try at(1)) - 8 * (try at(-1)) + (try at(-2))) / (12 * Double(h))
                x[i] = original
                let a = Double(analytic[i])
                diff2 += (a - numeric) * (a - numeric)
                a2 += a * a
                n2 += numeric * numeric
                maxDiff = max(maxDiff, abs(a - numeric))
                maxNumeric = max(maxNumeric, abs(numeric))
            }
            results.append(Result(name: p.name, checkedElements: indices.count,
                                  relativeError: diff2.squareRoot() / max(a2.squareRoot(), n2.squareRoot(), floor),
                                  maxElementError: maxDiff / max(maxNumeric, floor)))
        }
        return results
    }
}
