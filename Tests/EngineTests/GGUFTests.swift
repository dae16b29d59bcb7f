import Foundation
import Testing
import TestSupport
@testable import Engine

private func temporaryFile(_ bytes: [UInt8], name: String = "t.gguf") throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-gguf-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}

private func smallFile() -> GGUFWriter {
    var w = GGUFWriter()
    w.set("general.architecture", .string("tiny"))
    w.set("tiny.block_count", .uint32(2))
    w.set("tiny.eps", .float32(1e-6))
    w.set("tiny.flag", .bool(true))
    w.set("tokenizer.ggml.tokens", .array(.string(["<pad>", "a", "bc", "▁d"])))
    w.set("tokenizer.ggml.scores", .array(.float32([0, -1, -2.5, -3])))
    w.set("nested", .array(.array([.int32([1, 2]), .int32([3])])))
    w.addTensor(name: "w", dimensions: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8])
    w.addTensor(name: "b", dimensions: [3], values: [0.5, -0.5, 2])
    return w
}

@Suite struct GGUFReaderTests {
    @Test func roundTripsMetadataAndTensors() throws {
        let url = try temporaryFile(smallFile().encoded())
        let file = try GGUFFile(path: url.path)
        #expect(file.version == 3)
        #expect(file.metadata.architecture == "tiny")
        #expect(file.metadata.int("tiny.block_count") == 2)
        #expect(file.metadata.float("tiny.eps") == 1e-6)
        #expect(file.metadata.bool("tiny.flag") == true)
        #expect(file.metadata.array("tokenizer.ggml.tokens")?.stringValues == ["<pad>", "a", "bc", "▁d"])
        #expect(file.metadata.array("tokenizer.ggml.scores")?.floatValues == [0, -1, -2.5, -3])
        #expect(file.metadata.array("nested") == .array([.int32([1, 2]), .int32([3])]))
        #expect(file.metadata.keys.first == "general.architecture")
        let w = try file.tensor("w")
        #expect(w.info.dimensions == [4, 2])
        #expect(w.info.rowLength == 4 && w.info.rowCount == 2)
        #expect(w.info.type == .f32)
        let values = (0..<8).map { w.bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        #expect(values == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try file.tensor("b").info.offset % 32 == 0)
        #expect(throws: GGUFError.self) { try file.tensor("missing") }
    }

    @Test func badMagicVersionAndTypesAreTypedErrors() throws {
        var bytes = smallFile().encoded()
        bytes[0] = UInt8(ascii: "X")
        let badMagic = try temporaryFile(bytes, name: "m.gguf")
        #expect(throws: GGUFError.badMagic(path: badMagic.path, found: 0x4655_4758)) {
            _ = try GGUFFile(path: badMagic.path)
        }
        var v1 = smallFile().encoded()
        v1[4] = 1
        #expect(throws: GGUFError.self) { _ = try GGUFFile(path: try temporaryFile(v1).path) }

        var unknownType = GGUFWriter()
        unknownType.addTensor(name: "x", dimensions: [32], type: .q8_0, data: [UInt8](repeating: 0, count: 34))
        var raw = unknownType.encoded()
        // The tensor's type field sits 12 bytes before the end of the info (type u32 + offset u64).
        let header = 4 + 4 + 8 + 8 + 8 + 1 + 4 + 8
        raw[header] = 200
        do {
            _ = try GGUFFile(path: try temporaryFile(raw).path)
            Issue.record("unknown type accepted")
        } catch let error as GGUFError {
            guard case .unknownTensorType(_, "x", 200) = error else {
                Issue.record("wrong error \(error)")
                return
            }
        }
    }

    @Test func everyTruncationIsAnErrorNeverACrash() throws {
        let full = smallFile().encoded()
        let complete = try GGUFFile(path: try temporaryFile(full).path)
        let last = try complete.tensor("b").info
        let contentEnd = complete.dataOffset + last.offset + last.byteCount
        // Every prefix that cuts into real content must fail cleanly (header cuts: truncated;
        // data cuts: tensor past end). Only the trailing alignment padding may go missing.
        for cut in 0..<contentEnd {
            let url = try temporaryFile(Array(full[0..<cut]))
            #expect(throws: (any Error).self) { _ = try GGUFFile(path: url.path) }
        }
        let url = try temporaryFile(Array(full[0..<(full.count - 40)]))
        do {
            _ = try GGUFFile(path: url.path)
        } catch let error as GGUFError {
            #expect(error.description.contains("truncated"))
        }
        #expect(throws: MappedFile.MapError.self) { _ = try GGUFFile(path: "/nonexistent/model.gguf") }
    }

    @Test(.enabled(if: TestModels.hasGemma)) func realGemmaFileHeader() throws {
        let url = try #require(try TestModels.gemma())
        let file = try GGUFFile(path: url.path)
        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(file.tensors.count == 236)
        #expect(file.metadata.architecture == "gemma3")
        #expect(file.metadata.int("gemma3.block_count") == 18)
        #expect(file.metadata.int("gemma3.embedding_length") == 640)
        #expect(file.metadata.string("tokenizer.ggml.model") == "llama")
        #expect(file.metadata.array("tokenizer.ggml.tokens")?.count == 262_144)
        let embd = try file.tensor("token_embd.weight")
        #expect(embd.info.type == .q8_0)
        #expect(embd.info.dimensions == [640, 262_144])
        #expect(file.info("output.weight") == nil)
        #expect(try file.tensor("blk.0.attn_output.weight").info.type == .q4_K)
    }
}
