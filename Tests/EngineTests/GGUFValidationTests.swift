import Foundation
import Testing
@testable import Engine

/// Broken GGUF files are refused at load with an error naming what is wrong (issue #22): the
/// mutations a hostile or careless file brings, on the tiny Gemma 3 of Gemma3SyntheticTests.
@Suite struct GGUFValidationTests {
    let tiny = TinyGemma()

    /// The model loads, or the error it gives (its description).
    func loadError(_ writer: GGUFWriter) throws -> String? {
        let url = try tiny.write(writer)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do {
            _ = try Gemma3Model(path: url.path)
            _ = try ModelInfo.inspectGGUF(url)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    func headerOnly(_ body: (inout [UInt8]) -> Void, kvCount: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        appendLE(&out, UInt32(0x4655_4747))
        appendLE(&out, UInt32(3))
        appendLE(&out, UInt64(0))
        appendLE(&out, kvCount)
        body(&out)
        return out
    }

    func key(_ out: inout [UInt8], _ name: String, type: UInt32) {
        appendLE(&out, UInt64(name.utf8.count))
        out += Array(name.utf8)
        appendLE(&out, type)
    }

    func parseError(_ bytes: [UInt8]) throws -> String? {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.gguf")
        try Data(bytes).write(to: url)
        do {
            _ = try GGUFFile(path: url.path)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func theIntactTinyModelLoads() throws {
        #expect(try loadError(tiny.writer()) == nil)
    }

    @Test func badHyperparametersAreRefused() throws {
        let cases: [(String, GGUFValue, String)] = [
            ("gemma3.attention.layer_norm_rms_epsilon", .float32(.nan), "layer_norm_rms_epsilon"),
            ("gemma3.attention.layer_norm_rms_epsilon", .float32(.infinity), "layer_norm_rms_epsilon"),
            ("gemma3.attention.layer_norm_rms_epsilon", .float32(-1), "layer_norm_rms_epsilon"),
            ("gemma3.attention.layer_norm_rms_epsilon", .float32(0), "layer_norm_rms_epsilon"),
            ("gemma3.rope.freq_base", .float32(.nan), "rope.freq_base"),
            ("gemma3.rope.freq_base", .float32(0), "rope.freq_base"),
            ("gemma3.rope.freq_base", .float32(-1), "rope.freq_base"),
            ("gemma3.attention.sliding_window_pattern", .uint32(0), "sliding_window_pattern"),
            ("gemma3.attention.layer_norm_rms_epsilon", .string("small"), "must be a float"),
            ("gemma3.block_count", .float32(3), "must be an integer"),
            ("general.alignment", .uint64(1 << 63), "general.alignment"),
            ("general.alignment", .uint32(48), "general.alignment"),
            ("tokenizer.ggml.add_bos_token", .uint8(5), "must be a bool"),
            ("tokenizer.ggml.tokens", .array(.int32([1, 2, 3])), "must be an array of strings"),
        ]
        for (name, value, expected) in cases {
            var w = tiny.writer()
            w.set(name, value)
            let error = try loadError(w)
            #expect(error?.contains(expected) == true, "\(name) = \(value): \(error ?? "loaded")")
        }
    }

    @Test func theVocabularyMustMatchTheTokenizer() throws {
        var w = tiny.writer()
        w.set("tokenizer.ggml.tokens", .array(.string((0..<(TinyGemma.vocab + 1)).map { "t\($0)" })))
        let error = try loadError(w)
        #expect(error?.contains("token_embd.weight") == true, "\(error ?? "loaded")")
    }

    /// A tensor whose type or shape no longer matches its bytes (its data would be read as
    /// something else) breaks the back-to-back layout llama.cpp requires.
    @Test func tensorsWhoseTypeOrShapeMisdescribeTheirBytesAreRefused() throws {
        for (name, type, dims) in [("blk.0.attn_q.weight", GGMLType.f16, [16, 16]), ("blk.0.attn_norm.weight", .bf16, [16]),
                                   ("output_norm.weight", .f32, [8]), ("token_embd.weight", .f16, [16, 40]),
                                   ("token_embd.weight", .f32, [16, 20])] {
            var w = GGUFWriter()
            for (key, value) in tiny.writer().metadata { w.set(key, value) }
            for t in tiny.writer().tensors {
                if t.name == name { w.addTensor(name: t.name, dimensions: dims, type: type, data: t.data) } else {
                    w.addTensor(name: t.name, dimensions: t.dimensions, type: t.type, data: t.data)
                }
            }
            let error = try loadError(w)
            #expect(error?.contains(name) == true, "\(name) as \(type) \(dims): \(error ?? "loaded")")
        }
    }

    @Test func duplicateKeysAreRefused() throws {
        let bytes = headerOnly({ out in
            for v in [UInt32(1), 2] {
                key(&out, "general.alignment", type: 4)
                appendLE(&out, v)
            }
        }, kvCount: 2)
        #expect(try parseError(bytes)?.contains("appears twice") == true)
    }

    /// Arrays nested 100 000 deep crashed the reader (stack overflow); now a clean error past 3 levels.
    @Test func nestedArraysAreRefusedWithoutRecursion() throws {
        let bytes = headerOnly({ out in
            key(&out, "x", type: 9)
            for _ in 0..<100_000 {
                appendLE(&out, UInt32(9))
                appendLE(&out, UInt64(1))
            }
        }, kvCount: 1)
        #expect(try parseError(bytes)?.contains("nested more than 3 deep") == true)
    }

    /// A count the rest of the file cannot hold is refused before anything is allocated for it.
    @Test func impossibleCountsAreRefused() throws {
        let strings = headerOnly({ out in
            key(&out, "x", type: 9)
            appendLE(&out, UInt32(8))
            appendLE(&out, UInt64(5_000_000))
            out += [UInt8](repeating: 0, count: 1000)
        }, kvCount: 1)
        #expect(try parseError(strings)?.contains("truncated") == true)
        let pairs = headerOnly({ out in out += [UInt8](repeating: 0, count: 100) }, kvCount: 1 << 40)
        #expect(try parseError(pairs)?.contains("truncated") == true)
    }
}
