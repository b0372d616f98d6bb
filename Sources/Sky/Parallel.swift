import Foundation

/// Runs `body(i)` for i in 0..<n on all cores. Each index must write only its own slots of shared buffers,
/// so results do not depend on the number of threads.
func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n <= 1 { for i in 0..<n { body(i) }; return }
    withoutActuallyEscaping(body) { b in
        let box = ClosureBox(body: b)
        DispatchQueue.concurrentPerform(iterations: n) { box.body($0) }
    }
}

private struct ClosureBox: @unchecked Sendable {
    let body: (Int) -> Void
}

/// A mutable buffer shared by the iterations of `parallelFor`, each writing disjoint elements.
struct SharedBuffer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    let count: Int
    init(_ p: UnsafeMutableBufferPointer<T>) { base = p.baseAddress!; count = p.count }
    @inline(__always) subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}
