/// Four consecutive values loaded into, or stored from, one SIMD register at any alignment: the vector loops of the
/// package (FFT butterflies, frame scores, the model variance) read and write their rows this way.
extension SIMD4 where Scalar == Double {
    /// The values p[0] ..< p[4].
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Double>) -> SIMD4<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
    }

    /// The values p[0] ..< p[4].
    @inlinable @inline(__always)
    public static func load(_ p: UnsafeMutablePointer<Double>) -> SIMD4<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
    }

    /// Writes the four values to p[0] ..< p[4].
    @inlinable @inline(__always)
    public func store(to p: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: SIMD4<Double>.self)
    }
}

extension SIMD4 where Scalar == Float {
    /// The values p[0] ..< p[4].
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }

    /// Writes the four values to p[0] ..< p[4].
    @inlinable @inline(__always)
    public func store(to p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: SIMD4<Float>.self)
    }
}
