#if canImport(Glibc)
import Glibc
#endif

/// Large numeric arrays that are about to be filled: full-size images (4k x 4k float32 is 68 MB).
///
/// A fresh allocation that large comes straight from the kernel, one 4 KiB page per page fault when first written:
/// ~17,000 faults per image, which on a virtual machine cost more than the arithmetic that fills it (a preprocessed
/// camera faulted in 116,000 pages: a fifth of its CPU time in the kernel). Asking for transparent huge pages
/// (madvise MADV_HUGEPAGE) maps 2 MiB per fault instead (14,500 faults for the same camera). It is advice only:
/// where the kernel has huge pages disabled, or on other systems, nothing changes, and values are never affected.
public enum LargeArrays {
    /// Below this size the advice is not worth a system call.
    public static let adviceThreshold = 4 << 20

    /// Advises huge pages for the whole 2 MiB blocks inside `bytes` (memory not yet touched).
    public static func adviseHugePages(_ bytes: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard bytes.count >= adviceThreshold, let base = bytes.baseAddress else { return }
        let huge = 2 << 20
        let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: base) + bytes.count) & ~(huge - 1)
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, Int32(MADV_HUGEPAGE))
        #endif
    }

    /// An array of `n` elements whose values are not set: the caller writes every element before reading any
    /// (numeric element types only).
    @inlinable
    public static func uninitialized<T: BitwiseCopyable>(_ type: T.Type, _ n: Int) -> [T] {
        [T](unsafeUninitializedCapacity: n) { buf, count in
            adviseHugePages(UnsafeMutableRawBufferPointer(buf))
            count = n
        }
    }

    /// An array of `n` copies of `value`, advised as above before it is filled (the per-fiber, per-row arrays of the
    /// image model, 16.5 MB each for a full-size camera, were faulted in 4 KiB pages: 8 % of a --model-variance
    /// preprocessing's CPU). Inlinable so that the fill is specialised for the element type where it is called: the
    /// generic fill copied each element through the type's value witness, one call per element.
    @inlinable
    public static func filled<T: BitwiseCopyable>(_ value: T, count n: Int) -> [T] {
        [T](unsafeUninitializedCapacity: n) { buf, count in
            adviseHugePages(UnsafeMutableRawBufferPointer(buf))
            buf.initialize(repeating: value)
            count = n
        }
    }

    /// Memory for `n` values (not initialised), advised as above; the caller deallocates it.
    public static func allocate<T>(_ type: T.Type, _ n: Int) -> UnsafeMutableBufferPointer<T> {
        let buf = UnsafeMutableBufferPointer<T>.allocate(capacity: n)
        adviseHugePages(UnsafeMutableRawBufferPointer(buf))
        return buf
    }
}
