#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Square roots of all lanes in one instruction (sqrtps / sqrtpd).
///
/// `squareRoot()` compiles on Linux to the C library's `sqrt`: a scalar sqrtsd, then a call to `sqrt` for negative
/// values so that it can set errno. That is done lane by lane for a SIMD vector too, and a loop that takes a square
/// root does not vectorise (a quarter of the cosmic-ray prefilter's time, the read noise of every pixel one value at a
/// time). IEEE 754 square roots are correctly rounded, in the vector instructions as in the scalar one: the values are
/// the same, a negative lane gives NaN as `squareRoot()` does.
extension SIMD4 where Scalar == Float {
    @inlinable @inline(__always)
    public func vectorSquareRoot() -> SIMD4<Float> {
        #if arch(x86_64)
        return _mm_sqrt_ps(self)
        #else
        return squareRoot()
        #endif
    }
}

extension SIMD2 where Scalar == Double {
    @inlinable @inline(__always)
    public func vectorSquareRoot() -> SIMD2<Double> {
        #if arch(x86_64)
        return _mm_sqrt_pd(self)
        #else
        return squareRoot()
        #endif
    }
}

extension SIMD4 where Scalar == Double {
    /// Two SSE2 halves (the x86-64 baseline); with AVX the compiler joins them into one 256-bit sqrtpd.
    @inlinable @inline(__always)
    public func vectorSquareRoot() -> SIMD4<Double> {
        SIMD4(lowHalf: lowHalf.vectorSquareRoot(), highHalf: highHalf.vectorSquareRoot())
    }
}

extension SIMD8 where Scalar == Float {
    /// Two SSE halves; with AVX the compiler joins them into one 256-bit sqrtps.
    @inlinable @inline(__always)
    public func vectorSquareRoot() -> SIMD8<Float> {
        SIMD8(lowHalf: lowHalf.vectorSquareRoot(), highHalf: highHalf.vectorSquareRoot())
    }
}
