import Foundation

/// Runs `body(i)` for i in 0..<n on all cores (in order on this thread when `parallel` is false, to check that
/// results do not depend on the thread count). Each index must write only its own slots of shared buffers
/// (`SharedBuffer`), so results do not depend on the number of threads.
public func parallelFor(_ n: Int, parallel: Bool = true, _ body: (Int) -> Void) {
    if n <= 1 || !parallel { for i in 0..<n { body(i) }; return }
    withoutActuallyEscaping(body) { b in
        let box = ClosureBox(body: b)
        DispatchQueue.concurrentPerform(iterations: n) { box.body($0) }
    }
}

private struct ClosureBox: @unchecked Sendable {
    let body: (Int) -> Void
}

/// map over 0..<count on all cores; the result does not depend on the thread count.
public func parallelMap<T>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let out = IndexedResults<T>(count: count)
    DispatchQueue.concurrentPerform(iterations: count) { i in out.set(i, body(i)) }
    return out.all()
}

/// Results of independent tasks written by index from concurrent workers.
public final class IndexedResults<T>: @unchecked Sendable {
    private var values: [T?]
    private let lock = NSLock()
    public init(count: Int) { values = [T?](repeating: nil, count: count) }
    public func set(_ i: Int, _ v: T) { lock.lock(); values[i] = v; lock.unlock() }
    public func all() -> [T] { values.map { $0! } }
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
