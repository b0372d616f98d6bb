/// Four consecutive values loaded into, or stored from, one SIMD register at any alignment: the vector loops of the
/// package (FFT butterflies, frame scores, the model variance, the arcs' spot detection) read and write their rows so.
extension SIMD4 where Scalar: BitwiseCopyable {
    /// The values p[0] ..< p[4].
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Scalar>) -> SIMD4<Scalar> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Scalar>.self)
    }

    /// The values p[0] ..< p[4].
    @inlinable @inline(__always)
    public static func load(_ p: UnsafeMutablePointer<Scalar>) -> SIMD4<Scalar> { load(UnsafePointer(p)) }

    /// Writes the four values to p[0] ..< p[4].
    @inlinable @inline(__always)
    public func store(to p: UnsafeMutablePointer<Scalar>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: SIMD4<Scalar>.self)
    }
}

extension SIMD4 where Scalar == Float {
    /// Each lane of `d` rounded to Float, as `Float(d[i])` (one cvtpd2ps): the standard library's generic conversion
    /// stayed an out-of-line call inside the preprocessing's large pixel loop.
    @inlinable @inline(__always)
    public init(rounding d: SIMD4<Double>) { self.init(Float(d[0]), Float(d[1]), Float(d[2]), Float(d[3])) }
}
