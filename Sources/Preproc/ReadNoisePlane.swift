import Foundation

/// The READNOISE plane of a preprocessed image (electrons, divided by the pixel flat as the variance uses it),
/// computed from what the pixel pass used (the amplifiers' read noise, the bias, the dark noise, the pixel flat) a
/// band of rows at a time, instead of held as an image: 68 MB less memory for a full-size camera (the CPU time is
/// about the same: computing the rows again costs what faulting in the plane did). The same values as the plane the
/// pixel pass fills (`PixelPass.readNoiseRow` is its step 3 for the read noise).
public struct ReadNoisePlane: Sendable {
    let pass: PixelPass
    public var ny: Int { pass.ny }
    public var nx: Int { pass.nx }

    init(_ pass: PixelPass) { self.pass = pass }

    /// Rows `rows` into `out` (rows.count x nx values, row after row), the rows shared among the cores.
    public func rows(_ rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == rows.count * nx, "read noise rows \(rows) need \(rows.count * nx) values, got \(out.count)")
        let nx = self.nx, pass = self.pass
        // fixed groups of rows (the values do not depend on the grouping)
        let groups = max(1, min(rows.count, 16))
        nonisolated(unsafe) let target = out
        DispatchQueue.concurrentPerform(iterations: groups) { g in
            let group = (rows.lowerBound + rows.count * g / groups)..<(rows.lowerBound + rows.count * (g + 1) / groups)
            let flat = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
            let bias = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
            let rn = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
            defer { flat.deallocate(); bias.deallocate(); rn.deallocate() }
            if pass.pixflat == nil { flat.update(repeating: 1) }
            for y in group {
                if let pf = pass.pixflat { pf.values(from: y * nx, into: flat) }
                pass.readNoiseRow(y, flat: flat.baseAddress!, bias: bias.baseAddress!, rn: rn.baseAddress!,
                                  into: target.baseAddress! + (y - rows.lowerBound) * nx)
            }
        }
    }

    /// The whole plane, [ny, nx].
    public func values() -> [Float] {
        [Float](unsafeUninitializedCapacity: ny * nx) { buf, count in
            rows(0..<ny, into: buf)
            count = ny * nx
        }
    }
}
