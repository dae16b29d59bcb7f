import ArgumentParser
import Engine
import Foundation

/// `whet bench`: prompt-processing and generation speed, as llama-bench measures them.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing (pp) and generation (tg) speed in tokens per second.",
        discussion: """
        Like llama-bench: each repetition starts from an empty cache; pp runs --prompt-tokens random \
        tokens as one batch, tg decodes --gen-tokens tokens one at a time (BOS first, then random \
        tokens), logits included. One warm-up run precedes the timed ones.
        """
    )

    @Option(name: .long, help: "Model file, folder or installed name.")
    var model: String = ModelLocator.defaultModelName
    @Option(name: .long, help: "Prompt tokens per pp run.")
    var promptTokens: Int = 128
    @Option(name: .long, help: "Generated tokens per tg run.")
    var genTokens: Int = 64
    @Option(name: [.short, .long], help: "Threads (lanes) for the kernels.")
    var threads: Int = 2
    @Option(name: [.short, .long], help: "Timed repetitions.")
    var repetitions: Int = 5
    @OptionGroup var output: OutputOptions

    struct Summary: Encodable {
        let median: Double
        let min: Double
        let max: Double
        init(_ values: [Double]) {
            let sorted = values.sorted()
            let n = sorted.count
            median = n == 0 ? 0 : (n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2)
            min = sorted.first ?? 0
            max = sorted.last ?? 0
        }
    }

    struct Report: Encodable {
        let model: String
        let threads: Int
        let prompt_tokens: Int
        let gen_tokens: Int
        let repetitions: Int
        let pp_tokens_per_second: Summary
        let tg_tokens_per_second: Summary
        let peak_rss_bytes: Int
    }

    func run() throws {
        try reportingErrors {
            guard promptTokens >= 1, genTokens >= 1, repetitions >= 1, threads >= 1 else {
                throw CommandFailure("--prompt-tokens, --gen-tokens, --repetitions and --threads must be at least 1")
            }
            Parallel.limitLanes(to: threads)
            let url = try ModelLocator.locate(model)
            let model = try TransformerDecoder(path: url.path)
            let vocab = model.configuration.vocabularySize
            let session = model.makeSession(contextLength: promptTokens + genTokens + 1,
                                            maximumBatchSize: promptTokens)
            let bos = model.specialTokenIDs.bos ?? 2
            var rng = SeededGenerator(seed: 42)
            func randomToken() -> Int32 { Int32.random(in: 0..<Int32(vocab), using: &rng) }

            var pp: [Double] = [], tg: [Double] = []
            for rep in 0...repetitions {
                let prompt = (0..<promptTokens).map { _ in randomToken() }
                session.reset()
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try session.evaluate(prompt)
                let t1 = DispatchTime.now().uptimeNanoseconds

                session.reset()
                var token = bos
                let t2 = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<genTokens {
                    _ = try session.evaluate(token: token)
                    token = randomToken()
                }
                let t3 = DispatchTime.now().uptimeNanoseconds
                guard rep > 0 else { continue }  // warm-up
                pp.append(Double(promptTokens) / (Double(t1 - t0) / 1e9))
                tg.append(Double(genTokens) / (Double(t3 - t2) / 1e9))
                CommandOutput.progress(String(format: "rep %d/%d: pp%d %.1f t/s, tg%d %.1f t/s", rep, repetitions,
                                              promptTokens, pp.last ?? 0, genTokens, tg.last ?? 0))
            }
            let report = Report(model: url.path, threads: threads, prompt_tokens: promptTokens, gen_tokens: genTokens,
                                repetitions: repetitions, pp_tokens_per_second: Summary(pp),
                                tg_tokens_per_second: Summary(tg), peak_rss_bytes: Self.peakResidentBytes())
            if output.json {
                try CommandOutput.printJSON(report)
            } else {
                print(String(format: "pp%d: %.1f t/s (min %.1f, max %.1f)", promptTokens, report.pp_tokens_per_second.median,
                             report.pp_tokens_per_second.min, report.pp_tokens_per_second.max))
                print(String(format: "tg%d: %.1f t/s (min %.1f, max %.1f)", genTokens, report.tg_tokens_per_second.median,
                             report.tg_tokens_per_second.min, report.tg_tokens_per_second.max))
                print("peak RSS: \(report.peak_rss_bytes / 1_048_576) MiB")
            }
        }
    }

    /// getrusage's ru_maxrss (kilobytes on Linux, bytes on macOS).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }
}
