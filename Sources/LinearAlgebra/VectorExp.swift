/// e^x in the four lanes of an AVX register, within 1 ulp of the exact value (glibc's scalar `exp`, which the Swift
/// `exp` calls, is within 0.51 ulp: the two differ in the last bit for a small fraction of arguments).
///
/// A loop that calls `exp` per value makes a library call per value and does not vectorise (the image model's
/// projection: 14 million calls for a full-size camera, 4 % of a `--model-variance` preprocessing). The usual
/// reduction: x = k ln2 + r with k = round(x / ln2) and |r| <= ln2 / 2 (ln2 in two parts, Cody and Waite, so that
/// k ln2_hi is exact), e^r from its Taylor series to r^13 (the first term left out is below 0.02 ulp on that
/// interval), summed by Horner's rule with fused multiply-adds, the 1 added last; then times 2^k, exact (two factors
/// below the normal range, where the result is subnormal). Overflow gives +inf, underflow 0, NaN stays NaN.
extension SIMD4 where Scalar == Double {
    @inlinable @inline(__always)
    public func vectorExp() -> SIMD4<Double> {
        let overflow = 709.782712893384, underflow = -745.1332191019412
        // clamped by selects (`clamped` called pointwiseMax and pointwiseMin out of line: 1 % of a preprocessing);
        // a NaN stays NaN through the steps below and is given back at the end
        var x = self
        x.replace(with: SIMD4(repeating: -746), where: x .< SIMD4(repeating: -746))
        x.replace(with: SIMD4(repeating: 710), where: x .> SIMD4(repeating: 710))
        // k = round(x / ln2): adding 1.5 x 2^52 leaves k in the low bits of the sum (round to nearest)
        let shift = SIMD4<Double>(repeating: 0x1.8p52)
        let shifted = x * SIMD4(repeating: 0x1.71547652b82fep0) + shift
        let kd = shifted - shift
        let k = unsafeBitCast(shifted, to: SIMD4<Int64>.self) &- SIMD4<Int64>(repeating: Int64(bitPattern: shift[0].bitPattern))
        // ln2_hi: ln 2 with its low 28 bits zero (k ln2_hi exact for |k| < 2^25); ln2_lo: the rest
        var r = x.addingProduct(-kd, SIMD4(repeating: 0x1.62e42fee00000p-1))
        r = r.addingProduct(-kd, SIMD4(repeating: 0x1.a39ef35793c76p-33))
        // e^r - 1 = r + r^2 (1/2! + r (1/3! + ... + r / 13!))
        var p = SIMD4<Double>(repeating: 1.0 / 6_227_020_800)
        @inline(__always) func step(_ c: Double) { p = SIMD4<Double>(repeating: c).addingProduct(p, r) }
        step(1.0 / 479_001_600); step(1.0 / 39_916_800); step(1.0 / 3_628_800); step(1.0 / 362_880)
        step(1.0 / 40_320); step(1.0 / 5_040); step(1.0 / 720); step(1.0 / 120); step(1.0 / 24); step(1.0 / 6)
        step(0.5)
        let er = SIMD4<Double>(repeating: 1) + r.addingProduct(r * r, p)
        // 2^k as two powers of two, each within the normal range (k in [-1077, 1025])
        let k1 = k &>> 1, k2 = k &- k1
        let s1 = unsafeBitCast((k1 &+ 1023) &<< 52, to: SIMD4<Double>.self)
        let s2 = unsafeBitCast((k2 &+ 1023) &<< 52, to: SIMD4<Double>.self)
        var y = (er * s1) * s2
        y.replace(with: SIMD4(repeating: .infinity), where: self .> SIMD4(repeating: overflow))
        y.replace(with: SIMD4(), where: self .< SIMD4(repeating: underflow))
        y.replace(with: self, where: self .!= self)
        return y
    }
}
