#if canImport(Glibc)
import Glibc
#endif

// The trace shifts allocate the same frame-sized arrays (boxcar frame, 4x resampled flux and ivar: 16-66 MB each) on
// every x and y pass. glibc serves each from a fresh mmap and unmaps it on free, so the kernel clears every page
// again on every pass: ~15 % of the command's CPU time (perf: clear_page_erms under the page faults of the
// resampling, the running median and the boxcar). While the trace shifts run, freed blocks are kept in the heap
// instead and the next pass reuses them; glibc's defaults are put back afterwards and the memory released.

/// Runs `body` with large freed blocks kept in the process heap (glibc mallopt: M_MMAP_THRESHOLD and
/// M_TRIM_THRESHOLD raised), then restores the defaults (128 KiB) and gives the free memory back (malloc_trim).
/// Without glibc's mallopt (found at run time) `body` just runs.
func withFreedArraysKeptInHeap<T>(_ body: () throws -> T) rethrows -> T {
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
