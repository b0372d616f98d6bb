import Foundation
import Synchronization

// The one concurrency helper of the package: loops over independent indices on all cores, results kept by index
// (so they never depend on the number of threads or on the order in which the workers finish), the first error of a
// throwing loop rethrown once every worker has stopped.

/// Threads a parallel loop uses by default: the environment's DESISPEC_NCPU when it is a positive integer (the
/// night runner sets it for every task, so that the tasks running together use each core once), else every core.
public func defaultThreadCount() -> Int {
    if let v = ProcessInfo.processInfo.environment["DESISPEC_NCPU"], let n = Int(v), n > 0 { return n }
    return ProcessInfo.processInfo.activeProcessorCount
}

/// Runs `body(i)` for i in 0..<n on `defaultThreadCount()` threads (in order on this thread when `parallel` is
/// false, to check that results do not depend on the thread count). Each index must write only its own slots of
/// shared buffers (`SharedBuffer`), so results do not depend on the number of threads. After a failure no new index
/// starts, and the first error thrown is rethrown when the loop has stopped.
public func parallelFor<E: Error>(_ n: Int, parallel: Bool = true, _ body: (Int) throws(E) -> Void) throws(E) {
    let workers = min(n, defaultThreadCount())
    if n <= 1 || !parallel || workers <= 1 {
        for i in 0..<n { try body(i) }
        return
    }
    let failure = FirstError<E>()
    let next = AtomicCounter()
    withoutActuallyEscaping(body) { b in
        let box = ClosureBox(body: b)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while !failure.isSet {
                let i = next.next()
                if i >= n { break }
                do throws(E) { try box.body(i) } catch { failure.record(error) }
            }
        }
    }
    if let error = failure.error { throw error }
}

private struct ClosureBox<E: Error>: @unchecked Sendable {
    let body: (Int) throws(E) -> Void
}

/// map over 0..<count on `threads` workers (`defaultThreadCount()` by default), each taking the next index when it is done with
/// one (uneven tasks keep every worker busy). The results are in index order, so they do not depend on the thread
/// count. After a failure no new index starts; the first error thrown is rethrown when every worker has stopped.
/// A body that returns `Result` keeps every index's error instead (e.g. one per camera).
public func parallelMap<T, E: Error>(_ count: Int, threads: Int? = nil,
                                     _ body: @Sendable (Int) throws(E) -> T) throws(E) -> [T] {
    let out = IndexedResults<T>(count: count)
    let next = AtomicCounter()
    let failure = FirstError<E>()
    let workers = max(1, min(threads ?? defaultThreadCount(), count))
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while !failure.isSet {
            let i = next.next()
            if i >= count { break }
            do throws(E) { out.set(i, try body(i)) } catch { failure.record(error) }
        }
    }
    if let error = failure.error { throw error }
    return out.all()
}

/// Results of independent tasks written by index from concurrent workers (each index once).
public final class IndexedResults<T>: @unchecked Sendable {
    // @unchecked: T need not be Sendable; the values are read and written only under `lock`.
    private var values: [T?]
    private let lock = Mutex(())
    public init(count: Int) { values = [T?](repeating: nil, count: count) }
    public func set(_ i: Int, _ v: T) { lock.withLock { _ in values[i] = v } }
    /// The value of index i, nil while it has not been set.
    public func get(_ i: Int) -> T? { lock.withLock { _ in values[i] } }
    /// All values in index order; every index must have been set.
    public func all() -> [T] { lock.withLock { _ in values.map { $0! } } }
}

/// A shared counter handing out 0, 1, 2, ... to concurrent workers.
public final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    /// The next value (each value is handed out once).
    public func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// The first error recorded by concurrent workers; later ones are dropped.
public final class FirstError<E: Error>: Sendable {
    private let stored = Mutex<E?>(nil)
    private let recorded = Atomic<Bool>(false)   // read by every iteration: cheaper than the mutex
    public init() {}
    public func record(_ error: E) {
        stored.withLock { if $0 == nil { $0 = error } }
        recorded.store(true, ordering: .releasing)
    }
    public var isSet: Bool { recorded.load(ordering: .acquiring) }
    public var error: E? { stored.withLock { $0 } }
}

/// Work started at once on a thread of its own (not one of the pool's, which loops like `parallelFor` keep busy
/// meanwhile); `value()` waits until it is done and returns its result or rethrows its error.
public final class BackgroundTask<T: Sendable>: Sendable {
    private let outcome = Mutex<Result<T, any Error>?>(nil)
    private let finished = DispatchGroup()

    public init(_ work: @escaping @Sendable () throws -> T) {
        finished.enter()
        Thread.detachNewThread { [self] in
            let result = Result { try work() }
            outcome.withLock { $0 = result }
            finished.leave()
        }
    }

    /// The result of the work, once it is done (rethrows its error); may be called more than once.
    public func value() throws -> T {
        finished.wait()
        return try outcome.withLock { $0! }.get()
    }
}

/// A mutable buffer shared by the iterations of `parallelFor`, each writing disjoint elements.
@frozen
public struct SharedBuffer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public let count: Int
    @inlinable public init(_ p: UnsafeMutableBufferPointer<T>) { base = p.baseAddress!; count = p.count }
    @inlinable public subscript(i: Int) -> T {
        @inline(__always) get { base[i] }
        @inline(__always) nonmutating set { base[i] = newValue }
    }
}
