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
// OpenBLAS reads its thread count only when it loads, so the process starts itself again once with
// OPENBLAS_NUM_THREADS=1 in its environment (a few ms); the variable passes on to the tasks a driver starts.

extension BLASThreads {
    /// Makes OpenBLAS single-threaded from its start: when OPENBLAS_NUM_THREADS is not set, sets it to 1 and
    /// replaces the process with a new run of the same executable and arguments (/proc/self/exe). A value the user
    /// set is kept. Call first thing in `main`. Where the executable cannot be started again, it carries on with
    /// BLAS set to one thread (the workers then still spin once, after the start).
    public static func startSingleThreaded() {
        #if os(Linux)
        guard getenv("OPENBLAS_NUM_THREADS") == nil else { return }
        setenv("OPENBLAS_NUM_THREADS", "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure
        #endif
        set(1)
    }
}
