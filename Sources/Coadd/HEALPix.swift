import Foundation

/// HEALPix pixel numbers in the NESTED scheme (Gorski et al. 2005), as healpy.ang2pix(nside, ra, dec,
/// nest=True, lonlat=True), which desispec.pixgroup uses to group spectra (nside 64 by default).
public enum HEALPix {
    /// Nested pixel of the direction (ra, dec) in degrees. `nside` must be a power of 2.
    public static func ang2pixNested(nside: Int, ra: Double, dec: Double) -> Int {
        precondition(nside > 0 && nside & (nside - 1) == 0, "nside must be a power of 2")
        let z = sin(dec * .pi / 180)
        var phi = (ra * .pi / 180).truncatingRemainder(dividingBy: 2 * .pi)
        if phi < 0 { phi += 2 * .pi }
        let za = abs(z)
        let tt = phi * 2 / .pi   // in [0, 4)
        let face: Int, ix: Int, iy: Int
        if za <= 2.0 / 3.0 {
            // Equatorial region.
            let t1 = Double(nside) * (0.5 + tt)
            let t2 = Double(nside) * z * 0.75
            let jp = Int(t1 - t2), jm = Int(t1 + t2)
            let ifp = jp / nside, ifm = jm / nside
            face = ifp == ifm ? (ifp | 4) : (ifp < ifm ? ifp : ifm + 8)
            ix = jm & (nside - 1)
            iy = nside - (jp & (nside - 1)) - 1
        } else {
            // Polar caps.
            let ntt = min(3, Int(tt))
            let tp = tt - Double(ntt)
            let tmp = Double(nside) * (3 * (1 - za)).squareRoot()
            let jp = min(nside - 1, Int(tp * tmp))
            let jm = min(nside - 1, Int((1 - tp) * tmp))
            if z >= 0 { face = ntt; ix = nside - jm - 1; iy = nside - jp - 1 }
            else { face = ntt + 8; ix = jp; iy = jm }
        }
        return face * nside * nside + spreadBits(ix) + (spreadBits(iy) << 1)
    }

    /// Interleaves the bits of `v` with zeros (bit k goes to bit 2k).
    static func spreadBits(_ v: Int) -> Int {
        var r = 0, b = 0, x = v
        while x > 0 { if x & 1 != 0 { r |= 1 << (2 * b) }; x >>= 1; b += 1 }
        return r
    }
}
