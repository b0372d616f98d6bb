import Foundation

/// Results of independent tasks written by index from concurrent workers.
final class IndexedResults<T>: @unchecked Sendable {
    private var values: [T?]
    private let lock = NSLock()
    init(count: Int) { values = [T?](repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.lock(); values[i] = v; lock.unlock() }
    func all() -> [T] { values.map { $0! } }
}

/// map over 0..<count on all cores; the result does not depend on the thread count.
func parallelMap<T>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let out = IndexedResults<T>(count: count)
    DispatchQueue.concurrentPerform(iterations: count) { i in out.set(i, body(i)) }
    return out.all()
}
