import Foundation
import LinearAlgebra
import PSF

/// Light of one fiber sampled on a fine wavelength grid: per bin the expected electrons and their mean wavelength.
public struct FiberSamples: Sendable {
    public var electrons: [Double]
    public var meanWavelength: [Double]
}

/// Projects fibers' light through a PSF onto the CCD.
public enum Projection {

    /// Fine wavelength bin edges for a fiber: wavelengths at rows y = -halfY-2, ... in steps of 1/`samplesPerPixel`
    /// pixel up to npixY + halfY + 2, restricted to the PSF's wavelength range (so every bin is a fraction of a pixel
    /// of dispersion, whatever the PSF).
    public static func fineEdges(psf: any SpectralPSF, fiber: Int, samplesPerPixel: Int = 4, padRows: Double = 8) -> [Double] {
        let step = 1 / Double(samplesPerPixel)
        let y0 = max(-padRows, psf.y(fiber: fiber, wavelength: psf.wavemin))
        let y1 = min(Double(psf.npixY) + padRows, psf.y(fiber: fiber, wavelength: psf.wavemax))
        guard y1 > y0 else { return [] }
        let n = Int(((y1 - y0) / step).rounded(.up))
        var edges = [Double](); edges.reserveCapacity(n + 1)
        for k in 0...n {
            let y = min(y0 + Double(k) * step, y1)
            let w = min(max(psf.wavelength(fiber: fiber, y: y), psf.wavemin), psf.wavemax)
            if let last = edges.last, w <= last { continue }
            edges.append(w)
        }
        return edges
    }

    /// Electrons image [npixY, npixX] (no noise) of the fibers' samples: each bin puts its electrons into the PSF
    /// spot at its mean wavelength. Fibers are processed in groups of `groupSize` in parallel, each into its own
    /// sub-image, and the sub-images are added in group order, so the result does not depend on the thread count.
    public static func project(psf: any SpectralPSF, fibers: [Int], samples: [FiberSamples], groupSize: Int = 25,
                               parallel: Bool = true) -> [Double] {
        precondition(fibers.count == samples.count, "Projection.project: one FiberSamples per fiber")
        let ny = psf.npixY, nx = psf.npixX
        let groups = stride(from: 0, to: fibers.count, by: groupSize).map { Array($0..<min($0 + groupSize, fibers.count)) }
        struct Box: @unchecked Sendable { var x0: Int; var x1: Int; var pix: [Double] }
        let boxes = UnsafeMutablePointer<Box?>.allocate(capacity: groups.count)
        boxes.initialize(repeating: nil, count: groups.count)
        defer { boxes.deinitialize(count: groups.count); boxes.deallocate() }
        nonisolated(unsafe) let out = boxes
        parallelFor(groups.count, parallel: parallel) { g in
            let members = groups[g]
            // x extent of the group's traces, padded for the spots
            var xmin = Double.infinity, xmax = -Double.infinity
            for m in members {
                for t in 0...40 {
                    let w = psf.wavemin + (psf.wavemax - psf.wavemin) * Double(t) / 40
                    let x = psf.x(fiber: fibers[m], wavelength: w)
                    xmin = min(xmin, x); xmax = max(xmax, x)
                }
            }
            let x0 = max(0, Int(xmin.rounded(.down)) - 24), x1 = min(nx, Int(xmax.rounded(.up)) + 25)
            let bw = max(0, x1 - x0)
            var pix = [Double](repeating: 0, count: ny * bw)
            pix.withUnsafeMutableBufferPointer { p in
                for m in members {
                    let s = samples[m]
                    if let a = psf as? AnalyticPSF {
                        // separable fast path: the same pixel-integrated Gaussian as AnalyticPSF.spot, no allocation
                        a.accumulate(fiber: fibers[m], samples: s, into: p, boxX0: x0, boxX1: x1, ny: ny)
                        continue
                    }
                    for k in s.electrons.indices where s.electrons[k] > 0 {
                        let spot = psf.spot(fiber: fibers[m], wavelength: s.meanWavelength[k])
                        let e = s.electrons[k]
                        spot.values.withUnsafeBufferPointer { v in
                            for i in 0..<spot.ny {
                                let row = spot.y0 + i
                                if row < 0 || row >= ny { continue }
                                let base = row * bw - x0
                                for j in 0..<spot.nx {
                                    let col = spot.x0 + j
                                    if col < x0 || col >= x1 { continue }
                                    p[base + col] += e * v[i * spot.nx + j]
                                }
                            }
                        }
                    }
                }
            }
            out[g] = Box(x0: x0, x1: x1, pix: pix)
        }
        var image = [Double](repeating: 0, count: ny * nx)
        image.withUnsafeMutableBufferPointer { im in
            for g in 0..<groups.count {
                guard let b = boxes[g] else { continue }
                let bw = b.x1 - b.x0
                b.pix.withUnsafeBufferPointer { p in
                    for r in 0..<ny { for c in 0..<bw { im[r * nx + b.x0 + c] += p[r * bw + c] } }
                }
            }
        }
        return image
    }

    /// Poisson realisation of an expected-electrons image; rows are drawn in blocks of 32, each block from its own
    /// random stream, in parallel (identical for any thread count).
    public static func poisson(_ expected: [Double], ny: Int, nx: Int, seed: UInt64, stream: UInt64, parallel: Bool = true) -> [Float] {
        var out = [Float](repeating: 0, count: ny * nx)
        let blocks = (ny + 31) / 32
        out.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let op = o
            expected.withUnsafeBufferPointer { e in
                nonisolated(unsafe) let ep = e
                parallelFor(blocks, parallel: parallel) { b in
                    var rng = SimulationRandom(seed: seed, stream: stream &* 65_536 &+ UInt64(b))
                    for i in (b * 32 * nx)..<(min(ny, (b + 1) * 32) * nx) {
                        op[i] = Float(rng.poisson(max(ep[i], 0)))
                    }
                }
            }
        }
        return out
    }
}
