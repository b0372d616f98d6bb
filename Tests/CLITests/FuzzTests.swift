import Foundation
import TestSupport
import XCTest

/// Damaged files through every subcommand that reads them (issue 17): each run must end with exit 0 or a one-line
/// error and exit 1, never a signal, a hang or a partial output. The seeds are small products made by `desispec`
/// itself (see `FuzzProducts.make`), or the products of a demo folder given as $DESISPEC_FUZZ_SEEDS.
/// $DESISPEC_FUZZ_COUNT=N runs the long mode (`scripts/fuzz.sh N`), which prints a table of outcomes.
final class FuzzTests: XCTestCase {
    nonisolated(unsafe) private static var products: FuzzProducts?
    nonisolated(unsafe) private static var productError: String?
    nonisolated(unsafe) private static var folder: URL?

    override class func setUp() {
        super.setUp()
        let env = ProcessInfo.processInfo.environment
        if let seeds = env["DESISPEC_FUZZ_SEEDS"] { products = FuzzProducts.find(in: seeds); return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-fuzz-\(UUID().uuidString)")
        folder = dir
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            products = try FuzzProducts.make(in: dir)
        } catch {
            productError = "\(error)"
        }
    }

    override class func tearDown() {
        if let folder { try? FileManager.default.removeItem(at: folder) }
        super.tearDown()
    }

    private func seeds() throws -> FuzzProducts {
        if let e = Self.productError {
            if e.contains("not built") { throw XCTSkip(e) }
            XCTFail("making the seed products failed: \(e)")
        }
        return try XCTUnwrap(Self.products)
    }

    /// Runs mutation (`kind`, `seed`) of product `type` through `reader`, in a fresh folder below `work`.
    private func fuzz(_ p: FuzzProducts, type: String, reader: FuzzReader, kind: FITSMutator.Kind, seed: UInt64,
                      mutator: FITSMutator, work: URL, tally: inout FuzzTally) throws {
        let (bytes, what) = mutator.mutate(kind, seed: seed)
        let case_ = work.appendingPathComponent("\(type)-\(kind.rawValue)-\(seed)-\(reader.name.replacingOccurrences(of: " ", with: "_"))")
        let out = case_.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let input = case_.appendingPathComponent((p.files[type]! as NSString).lastPathComponent)
        try Data(bytes).write(to: input)
        let (outcome, stderr) = try FuzzRun.run(reader.arguments(input.path, out), out: out, limit: 60,
                                                allowsExit3: reader.name == "diff")
        tally.add(reader.name, outcome, detail: "\(outcome.rawValue): \(reader.name) on \(type) (\(kind.rawValue) seed \(seed): \(what)): "
                  + stderr.split(separator: "\n").suffix(3).joined(separator: " | "))
        try? FileManager.default.removeItem(at: case_)
    }

    /// Every product type through every subcommand that reads it, one mutation of each kind per pair: 0 crashes.
    func testEveryProductTypeAndReaderAnswersDamageWithAnErrorOrAResult() throws {
        let p = try seeds()
        let work = try CLIRunner.temporaryDirectory(self)
        var tally = FuzzTally()
        for type in FuzzProducts.types {
            guard let path = p.files[type] else { XCTFail("no seed product of type \(type)"); continue }
            let mutator = FITSMutator([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
            for (r, reader) in p.readers(of: type).enumerated() {
                for kind in FITSMutator.Kind.allCases {
                    try fuzz(p, type: type, reader: reader, kind: kind, seed: UInt64(r + 1), mutator: mutator, work: work, tally: &tally)
                }
            }
        }
        print(tally.table)
        XCTAssertTrue(tally.failures.isEmpty, tally.failures.joined(separator: "\n"))
    }

    /// The mutations that crashed `desispec` before the FITS layer checked declared sizes (signal 6 or 5: failed
    /// allocations and traps on header values), replayed against the same small seed products.
    /// Found by `scripts/fuzz.sh 700` with the binary of main before issue 17 (4 crashes in 700 runs).
    static let regressions: [(type: String, kind: FITSMutator.Kind, seed: UInt64, reader: String)] = [
        ("psf", .structuralKeyword, 1147, "info"),            // PSF table NAXIS2 = 2^63-1: allocation of the rows
        ("spectra", .structuralKeyword, 1178, "plot-spectra"), // an image NAXIS1 = 99999999999999: failed allocation
        ("raw", .dataFlip, 1528, "preproc"),                    // flipped bytes in Rice-compressed tiles
        ("frame", .structuralKeyword, 1580, "qa-frame"),        // FIBERMAP NAXIS2 = 2147483647
    ]

    func testMutationsThatOnceCrashedAreOneLineErrors() throws {
        let p = try seeds()
        let work = try CLIRunner.temporaryDirectory(self)
        var tally = FuzzTally()
        for r in Self.regressions {
            let mutator = FITSMutator([UInt8](try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(p.files[r.type])))))
            let reader = try XCTUnwrap(p.readers(of: r.type).first { $0.name == r.reader })
            try fuzz(p, type: r.type, reader: reader, kind: r.kind, seed: r.seed, mutator: mutator, work: work, tally: &tally)
        }
        XCTAssertTrue(tally.failures.isEmpty, tally.failures.joined(separator: "\n"))
    }

    /// The long mode: $DESISPEC_FUZZ_COUNT mutations, spread over product types, readers and kinds; prints the table
    /// (also to $DESISPEC_FUZZ_REPORT) and fails on any crash, hang or partial output.
    func testLongFuzz() throws {
        let env = ProcessInfo.processInfo.environment
        guard let n = env["DESISPEC_FUZZ_COUNT"].flatMap(Int.init), n > 0 else {
            throw XCTSkip("set DESISPEC_FUZZ_COUNT (scripts/fuzz.sh N) for the long fuzzing mode")
        }
        let p = try seeds()
        let work = try CLIRunner.temporaryDirectory(self)
        var tally = FuzzTally()
        var mutators: [String: FITSMutator] = [:]
        let types = FuzzProducts.types.filter { p.files[$0] != nil }
        let kinds = FITSMutator.Kind.allCases
        let start = Date()
        for i in 0..<n {
            let type = types[i % types.count]
            if mutators[type] == nil { mutators[type] = FITSMutator([UInt8](try Data(contentsOf: URL(fileURLWithPath: p.files[type]!)))) }
            let readers = p.readers(of: type)
            let round = i / types.count
            let reader = readers[round % readers.count]
            let kind = kinds[(round / readers.count) % kinds.count]
            try fuzz(p, type: type, reader: reader, kind: kind, seed: UInt64(1000 + i), mutator: mutators[type]!, work: work, tally: &tally)
            if (i + 1) % 250 == 0 {   // standard error: not buffered, so scripts/fuzz.sh shows the progress as it goes
                FileHandle.standardError.write(Data("fuzz: \(i + 1) of \(n) runs, \(Int(Date().timeIntervalSince(start))) s\n".utf8))
            }
        }
        let report = "\(tally.total) runs in \(Int(Date().timeIntervalSince(start))) s\n" + tally.table + "\n"
            + tally.failures.joined(separator: "\n")
        print(report)
        if let path = env["DESISPEC_FUZZ_REPORT"] { try report.write(toFile: path, atomically: true, encoding: .utf8) }
        XCTAssertTrue(tally.failures.isEmpty, "\(tally.failures.count) runs crashed, hung or left output")
    }
}
