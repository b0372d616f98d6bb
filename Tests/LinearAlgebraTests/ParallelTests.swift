import LinearAlgebra
import XCTest

/// The one concurrency helper: results by index whatever the thread count, the first error rethrown.
final class ParallelTests: XCTestCase {
    struct Failure: Error, Equatable { let index: Int }

    func testParallelMapIsIndependentOfTheThreadCount() {
        let work: @Sendable (Int) -> Double = { i in (0...(i % 37) * 10).reduce(0.0) { $0 + sin(Double($1 + i)) } }
        let serial = (0..<500).map(work)
        for threads in [1, 2, 3, 16] { XCTAssertEqual(parallelMap(500, threads: threads, work), serial) }
        XCTAssertEqual(parallelMap(500, work), serial)
        XCTAssertEqual(parallelMap(0) { $0 }, [])
    }

    func testParallelMapRethrowsTheFirstErrorAndStops() {
        let started = AtomicCounter()
        XCTAssertThrowsError(try parallelMap(10_000, threads: 4) { i throws(Failure) -> Int in
            _ = started.next()
            if i >= 20 { throw Failure(index: i) }
            return i
        }) { e in XCTAssertGreaterThanOrEqual((e as? Failure)?.index ?? -1, 20) }
        // no new index after the failure: far fewer than 10000 bodies ran
        XCTAssertLessThan(started.next(), 1000)
    }

    func testResultsPerIndexKeepEveryError() {
        let results = parallelMap(8, threads: 3) { i -> Result<Int, Failure> in i % 3 == 0 ? .failure(Failure(index: i)) : .success(i) }
        let failed = results.enumerated().compactMap { k, r -> Int? in if case .failure = r { return k } else { return nil } }
        XCTAssertEqual(failed, [0, 3, 6])
    }

    func testParallelForWritesDisjointSlotsAndRethrows() throws {
        var out = [Int](repeating: 0, count: 1000)
        out.withUnsafeMutableBufferPointer { p in
            let b = SharedBuffer(p)
            parallelFor(1000) { i in b[i] = i * i }
        }
        XCTAssertEqual(out, (0..<1000).map { $0 * $0 })
        XCTAssertThrowsError(try parallelFor(100) { i throws(Failure) in if i == 42 { throw Failure(index: 42) } }) { e in
            XCTAssertEqual(e as? Failure, Failure(index: 42))
        }
        XCTAssertThrowsError(try parallelFor(3, parallel: false) { i throws(Failure) in if i == 1 { throw Failure(index: 1) } })
    }

    func testAtomicCounterHandsOutEachValueOnce() {
        let counter = AtomicCounter()
        let taken = parallelMap(64, threads: 8) { _ in (0..<100).map { _ in counter.next() } }
        XCTAssertEqual(Set(taken.flatMap { $0 }), Set(0..<6400))
    }

    func testBackgroundTaskGivesItsResultOrItsError() {
        let sum = BackgroundTask { (1...1000).reduce(0, +) }
        XCTAssertEqual(try sum.value(), 500_500)
        XCTAssertEqual(try sum.value(), 500_500)
        let failing = BackgroundTask { () throws -> Int in throw Failure(index: 7) }
        XCTAssertThrowsError(try failing.value()) { e in XCTAssertEqual(e as? Failure, Failure(index: 7)) }
    }
}
