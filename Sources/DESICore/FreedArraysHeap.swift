#if canImport(Glibc)
import Glibc
#endif

// The frame-level steps allocate and free the same image-sized arrays (4k x 4k float64: 134 MB; frame arrays of
// 500 x 2.6k: 10 MB) over and over. glibc serves every block over 128 KiB from a fresh mmap and unmaps it on free,
// so the kernel clears every page again for each new array: 15-22 % of the CPU time of trace shifts, preproc and sky
// (perf: clear_page_erms under page faults). While such a step runs, freed blocks are kept in the heap instead and
// the next array reuses them; glibc's defaults are put back afterwards and the memory released.

/// Runs `body` with large freed blocks kept in the process heap (glibc mallopt: M_MMAP_THRESHOLD and
/// M_TRIM_THRESHOLD raised), then restores the defaults (128 KiB) and gives the free memory back (malloc_trim).
/// Without glibc's mallopt (found at run time) `body` just runs.
public func withFreedArraysKeptInHeap<T>(_ body: () throws -> T) rethrows -> T {
    #if os(Linux)
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    typealias MallocTrim = @convention(c) (Int) -> Int32
    let handle = UnsafeMutableRawPointer(bitPattern: 0)   // RTLD_DEFAULT
    if let o = dlsym(handle, "mallopt"), let t = dlsym(handle, "malloc_trim") {
        let mallopt = unsafeBitCast(o, to: MallOpt.self), mallocTrim = unsafeBitCast(t, to: MallocTrim.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3   // <malloc.h> M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        _ = mallopt(mmapThreshold, Int32.max)
        _ = mallopt(trimThreshold, Int32.max)
        defer {
            _ = mallopt(mmapThreshold, 128 * 1024)
            _ = mallopt(trimThreshold, 128 * 1024)
            _ = mallocTrim(0)
        }
        return try body()
    }
    #endif
    return try body()
}
