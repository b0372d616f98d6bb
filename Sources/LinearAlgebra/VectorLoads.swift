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
