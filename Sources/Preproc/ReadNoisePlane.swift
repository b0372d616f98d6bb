import Foundation

/// The READNOISE plane of a preprocessed image (electrons, divided by the pixel flat as the variance uses it),
/// computed from what the pixel pass used (the amplifiers' read noise, the bias, the dark noise, the pixel flat) a
/// band of rows at a time, instead of held as an image: 68 MB less memory for a full-size camera (the CPU time is
/// about the same: computing the rows again costs what faulting in the plane did). The same values as the plane the
/// pixel pass fills (`PixelPass.readNoiseRow` is its step 3 for the read noise).
/// `--model-variance` computes every row of the plane for the variance: it keeps them (`KeptRows`) and the plane
/// copies them instead of computing them again.
public struct ReadNoisePlane: Sendable {
    let pass: PixelPass
    let kept: KeptRows?
    public var ny: Int { pass.ny }
    public var nx: Int { pass.nx }

    init(_ pass: PixelPass, kept: KeptRows? = nil) {
        precondition(kept.map { $0.ny == pass.ny && $0.nx == pass.nx } ?? true, "kept read noise rows of another shape")
        self.pass = pass; self.kept = kept
    }

    /// Rows `rows` into `out` (rows.count x nx values, row after row), the rows shared among the cores.
    public func rows(_ rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == rows.count * nx, "read noise rows \(rows) need \(rows.count * nx) values, got \(out.count)")
        let nx = self.nx, pass = self.pass
        if let kept {
            for y in rows { (out.baseAddress! + (y - rows.lowerBound) * nx).update(from: kept.row(y), count: nx) }
            return
        }
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

extension ReadNoisePlane {
    /// Every row of the plane as something else computed it (`ModelVariance` fills row y at `row(y)`, once).
    /// Stored in chunks of a few rows (263 KB for a full-size camera) allocated on the calling thread: they reuse the
    /// blocks freed before them in the process heap (the cosmic-ray marks, the image model's per-fiber arrays) where
    /// one 68 MB plane would be fresh memory, which costs about what computing the rows again does.
    final class KeptRows: @unchecked Sendable {   // each row written by one thread, then only read
        let ny: Int, nx: Int
        static let rowsPerChunk = 16
        private let chunks: [UnsafeMutablePointer<Float>]

        init(ny: Int, nx: Int) {
            self.ny = ny; self.nx = nx
            let n = Self.rowsPerChunk
            chunks = stride(from: 0, to: ny, by: n).map { y0 in .allocate(capacity: max(1, min(n, ny - y0) * nx)) }
        }

        deinit { for c in chunks { c.deallocate() } }

        /// The nx values of row y.
        func row(_ y: Int) -> UnsafeMutablePointer<Float> {
            precondition(y >= 0 && y < ny, "read noise row \(y) outside 0..<\(ny)")
            return chunks[y / Self.rowsPerChunk] + (y % Self.rowsPerChunk) * nx
        }
    }
}
