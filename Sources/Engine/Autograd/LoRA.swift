import CBLAS

/// A frozen weight W `[out, in]` seen only through the two products training needs:
/// `forward` x·Wᵀ and `backwardInput` dy·W. A dense fp32 matrix implements it with BLAS; a quantized
/// matrix can implement it straight from its blocks, so QLoRA never dequantizes the whole model.
public protocol FrozenLinear: AnyObject {
    var inputFeatures: Int { get }
    var outputFeatures: Int { get }
    /// `[rows, inputFeatures]` → `[rows, outputFeatures]`.
    func forward(_ x: Tensor) throws -> Tensor
    /// Gradient with respect to the input: `[rows, outputFeatures]` → `[rows, inputFeatures]`.
    func backwardInput(_ dy: Tensor) throws -> Tensor
}

/// A frozen fp32 weight `[out, in]`.
// @unchecked Sendable: a frozen weight: the tensor is only read after init.
public final class DenseFrozenLinear: FrozenLinear, @unchecked Sendable {
    public let weight: Tensor

    public init(weight: Tensor) throws {
        guard weight.rank == 2 else {
            throw TensorError.invalidShape(operation: "frozen linear", shape: weight.shape, expected: "[out, in]")
        }
        self.weight = weight.isContiguous ? weight : weight.contiguous()
    }

    public var inputFeatures: Int { weight.shape[1] }
    public var outputFeatures: Int { weight.shape[0] }

    public func forward(_ x: Tensor) throws -> Tensor { try Tensor.matmul(x, weight, transposeB: true) }

    public func backwardInput(_ dy: Tensor) throws -> Tensor { try Tensor.matmul(dy, weight) }
}

public extension Graph {
    /// `x · Wᵀ` through a frozen weight: the gradient reaches `x` (via `backwardInput`), never W.
    func frozenLinear(_ x: Value, _ base: any FrozenLinear) throws -> Value {
        let xv = value(x)
        guard xv.lastDimension == base.inputFeatures else {
            throw TensorError.shapeMismatch(operation: "frozen linear", lhs: xv.shape,
                                            rhs: [base.outputFeatures, base.inputFeatures])
        }
        let out = try base.forward(xv)
        guard out.count == xv.rowCount * base.outputFeatures else {
            throw TensorError.invalidShape(operation: "frozen linear output", shape: out.shape,
                                           expected: "\(xv.rowCount) × \(base.outputFeatures)")
        }
        let flatOut = out.isContiguous ? out : out.contiguous()
        return record(flatOut, inputs: [x]) { g, dy in
            // The base's shapes were checked in the forward pass; a failing base is a bug in that base.
            guard let dx = try? base.backwardInput(dy), dx.count == xv.count else {
                preconditionFailure("FrozenLinear.backwardInput returned the wrong shape")
            }
            addInto(g.gradBuffer(x), dx.isContiguous ? dx : dx.contiguous())
        }
    }
}

/// A LoRA adapter on a frozen linear layer: y = x·Wᵀ + (α/r)·B·A·dropout(x), with A `[r, in]`,
/// B `[out, r]`. As PEFT: A starts Kaiming-uniform (a = √5, i.e. U(−1/√in, 1/√in)) and B at zero,
/// so the adapted layer starts out equal to the base. Only A and B train.
public final class LoRALinear {
    public let base: any FrozenLinear
    public let rank: Int
    public let alpha: Float
    public let dropout: Float
    /// `<module>.lora_A.weight`, `[rank, in]`.
    public let a: Parameter
    /// `<module>.lora_B.weight`, `[out, rank]`.
    public let b: Parameter

    public var scale: Float { alpha / Float(rank) }

    /// `module` is the module path (e.g. `model.layers.0.self_attn.q_proj`) that names the parameters.
    public init(module: String, base: any FrozenLinear, rank: Int, alpha: Float, dropout: Float = 0,
                generator: inout SeededGenerator) throws {
        guard rank > 0, rank <= min(base.inputFeatures, base.outputFeatures) else {
            throw AutogradError.invalidArgument(operation: "LoRA", reason:
                "rank \(rank) must be between 1 and min(in, out) = \(min(base.inputFeatures, base.outputFeatures))")
        }
        guard alpha > 0, dropout >= 0, dropout < 1 else {
            throw AutogradError.invalidArgument(operation: "LoRA", reason: "alpha must be positive and dropout in [0, 1)")
        }
        self.base = base
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        let aValues = Tensor(shape: [rank, base.inputFeatures])
        let bound = 1 / Float(base.inputFeatures).squareRoot()
        let ap = aValues.basePointer
        for i in 0..<aValues.count { ap[i] = (2 * generator.nextUniform() - 1) * bound }
        a = Parameter(name: module + ".lora_A.weight", value: aValues)
        b = Parameter(name: module + ".lora_B.weight", value: Tensor(shape: [base.outputFeatures, rank]))
    }

    public var parameters: [Parameter] { [a, b] }

    /// The adapted layer on `x` `[rows, in]`. Dropout applies only with `training`, drawing its mask
    /// from `generator`.
    public func forward(_ g: Graph, _ x: Value, training: Bool, generator: inout SeededGenerator) throws -> Value {
        let baseOut = try g.frozenLinear(x, base)
        let input = training && dropout > 0 ? try g.dropout(x, probability: dropout, generator: &generator) : x
        let down = try g.matmul(input, g.parameter(a), transposeW: true)
        let up = try g.matmul(down, g.parameter(b), transposeW: true)
        return try g.add(baseOut, g.scale(up, by: scale))
    }

    /// The weight change the adapter stands for, (α/r)·B·A `[out, in]`, for merging into the base.
    public func mergedDelta() -> Tensor {
        let out = base.outputFeatures, inp = base.inputFeatures
        let delta = Tensor(shape: [out, inp])
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(out), Int32(inp), Int32(rank), scale,
                    b.value.basePointer, Int32(rank), a.value.basePointer, Int32(inp), 0, delta.basePointer, Int32(inp))
        return delta
    }
}
