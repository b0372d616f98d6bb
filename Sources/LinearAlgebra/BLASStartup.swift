#if canImport(Glibc)
import Glibc
#endif

// OpenBLAS (the pthreads build) starts one worker thread per core when the library loads, before `main`, and a
// worker that has no work spins in sched_yield for 2^28 cycles (OPENBLAS_THREAD_TIMEOUT) before it sleeps: after
// the start and again after every threaded call. Measured on a full-size r0 frame (2 cores, perf): the spinning
// worker was 20 % of cframe's CPU time, and the PSF fit ran 87.6 s CPU / 46.9 s wall with the workers against
// 61.8 s / 34.4 s without them. The steps parallelize themselves (patches, fibers, rows: DESISPEC_NCPU), so BLAS
// runs on the calling thread. One BLAS thread also makes the PSF fit's numbers independent of the machine's core
// count (with OpenBLAS threaded, its blocked sums, and so the PSF's coefficients, changed at 1e-12 with the cores).
// OpenBLAS reads its thread count only when it loads, so the workers it started are stopped and joined at once by
// its own blas_thread_shutdown_ (what OpenBLAS does before a fork; a later threaded call would start them again, and
// none comes with one thread set). Sessions 8-11 started the executable again instead (execv with
// OPENBLAS_NUM_THREADS=1): the second start of the executable and its ~70 libraries cost 22-34 ms of CPU per process,
// 10 % of a cframe task (`perf stat -r 30 desispec --version`: 44-56 ms against 22 ms with the variable set); the
// stop costs microseconds. OPENBLAS_NUM_THREADS=1 is still set, for the tasks a driver starts (they load OpenBLAS
// without workers). Not an option: Debian's single-threaded build (libopenblas0-serial) has no workers, but it is not
// safe for calls from several threads at once, which the steps make (extraction patches in parallel gave values of
// 1e27; session 9).

extension BLASThreads {
    /// Makes OpenBLAS single-threaded from its start: when OPENBLAS_NUM_THREADS is not set, sets it to 1 (for the
    /// processes this one starts), sets BLAS to one thread and, where the libraries started worker threads as they
    /// loaded (a threaded OpenBLAS), stops them (blas_thread_shutdown_, looked up at run time); where that function
    /// is missing (another threaded BLAS), replaces the process with a new run of the same executable and arguments,
    /// which loads the libraries with the variable set. A value the user set is kept. Call first thing in `main`,
    /// before any thread is started.
    public static func startSingleThreaded() {
        #if os(Linux)
        guard getenv("OPENBLAS_NUM_THREADS") == nil else { return }
        setenv("OPENBLAS_NUM_THREADS", "1", 1)
        set(1)
        guard threadsOfThisProcess() > 1 else { return }
        if let stop = dlsym(nil, "blas_thread_shutdown_") {   // nil: RTLD_DEFAULT, every loaded library
            typealias Shutdown = @convention(c) () -> Int32
            _ = unsafeBitCast(stop, to: Shutdown.self)()
            return
        }
        // the executable's own path (not /proc/self/exe, which would make the process's name "exe" in ps and top)
        if let exe = realpath("/proc/self/exe", nil) {
            execv(exe, CommandLine.unsafeArgv)
            free(exe)
        }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: BLAS carries on with one thread (its workers spin once, after the start)
        #else
        set(1)
        #endif
    }

    /// The threads of this process (entries of /proc/self/task; 1 where it cannot be read).
    static func threadsOfThisProcess() -> Int {
        #if os(Linux)
        guard let dir = opendir("/proc/self/task") else { return 1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { count += 1 }
        }
        return max(1, count)
        #else
        return 1
        #endif
    }
}
