import DESICore
import Foundation
import LinearAlgebra
import Plot

extension Figures {
    /// A fiber's verification page: the six panels of SDSS-BOSS's calibration notebooks adapted to DESI, every
    /// camera (b, r, z) of the exposure in each panel, the grade and its reasons on top.
    /// 1. the preprocessed pixels around the trace (wavelength along x, columns across the trace along y), above them
    ///    the model of the same pixels and the residual (data - model) on the same grey scale;
    /// 2. extracted electrons per Angstrom with the 1-sigma error from ivar and the read noise of the extraction;
    /// 3. the fiber flat;
    /// 4. the sky model of the fiber and the sky-subtracted electrons (frame / fiber flat - sky);
    /// 5. the calibration vector (electrons per flux unit);
    /// 6. the calibrated spectrum with the standard-star model (or a given redrock model), and (data - model) / sigma.
    public static func fiberPage(_ stages: [FiberStageData], verdict: FiberVerdict,
                                 redrock: (wave: [Double], flux: [Float], ivar: [Float])?, title: String, path: String) throws {
        let canvas = Canvas(width: 1500, height: 1180)
        let colors: [Camera.Arm: Color] = [.b: .blue, .r: .red, .z: Color(0.55, 0.2, 0.6)]
        func color(_ s: FiberStageData) -> Color { colors[s.camera.arm] ?? .black }
        let head = "fiber \(verdict.fiber)" + (verdict.targetID >= 0 ? "  TARGETID \(verdict.targetID)" : "") + "  \(title)"
        canvas.text(head, x: 20, y: 18, size: 15)
        canvas.text(verdict.text, x: 20, y: 40, size: 14, color: verdict.worthLooking ? .red : .green)
        let wmin = stages.compactMap(\.wave.first).min() ?? 0, wmax = stages.compactMap(\.wave.last).max() ?? 1

        // 1. cut-outs: three strips (data, model, residual) sharing the wavelength axis.
        let strips = Axes(canvas: canvas, left: 80, top: 80, width: 1380, height: 240)
        strips.setLimits(x: (wmin, wmax), y: (0, 3))
        for s in stages where !s.cutout.isEmpty {
            drawCutout(s, on: strips)
        }
        strips.decorate(xLabel: "", yLabel: "resid | model | data",
                        title: "1. preproc around the trace (\(stages.first?.halfWidth ?? 0) columns either side): data, model, residual")

        // 2-6: line panels in a 2 x 3 grid below.
        func panel(_ i: Int) -> Axes {
            Axes(canvas: canvas, left: 80 + Double(i % 2) * 720, top: 380 + Double(i / 2) * 270, width: 640, height: 200)
        }
        let p2 = panel(0)
        let e = stages.flatMap { $0.electrons.map(Double.init) }
        p2.setLimits(x: (wmin, wmax), y: robustRange(e, floor: 0))
        for s in stages where !s.electrons.isEmpty {
            p2.plot(x: s.wave, y: s.electronsIvar.map { $0 > 0 ? 1 / Double($0).squareRoot() : .nan }, color: .lightGray)
            p2.plot(x: s.wave, y: s.electrons.map(Double.init), color: color(s), lineWidth: 0.7)
            if !s.readNoise.isEmpty { p2.plot(x: s.wave, y: s.readNoise, color: .black, dash: [3, 2]) }
        }
        p2.decorate(xLabel: "Wavelength [A]", yLabel: "electrons / A", title: "2. extracted electrons, error (grey), read noise (dashed)")

        let p3 = panel(1)
        p3.setLimits(x: (wmin, wmax), y: robustRange(stages.flatMap(\.fiberflat), floor: nil))
        for s in stages where !s.fiberflat.isEmpty { p3.plot(x: s.wave, y: s.fiberflat, color: color(s)) }
        p3.horizontalLine(1)
        p3.decorate(xLabel: "Wavelength [A]", yLabel: "fiber flat", title: "3. fiber flat")

        let p4 = panel(2)
        p4.setLimits(x: (wmin, wmax), y: robustRange(stages.flatMap(\.sky) + stages.flatMap(\.skyResidual), floor: nil))
        for s in stages where !s.sky.isEmpty {
            p4.plot(x: s.wave, y: s.sky, color: .gray, lineWidth: 0.7)
            p4.plot(x: s.wave, y: s.skyResidual, color: color(s), lineWidth: 0.7)
        }
        p4.horizontalLine(0)
        p4.decorate(xLabel: "Wavelength [A]", yLabel: "electrons / A", title: "4. sky model (grey) and frame / flat - sky")

        let p5 = panel(3)
        p5.setLimits(x: (wmin, wmax), y: robustRange(stages.flatMap { $0.calibration.map(Double.init) }, floor: 0))
        for s in stages where !s.calibration.isEmpty { p5.plot(x: s.wave, y: s.calibration.map(Double.init), color: color(s)) }
        p5.decorate(xLabel: "Wavelength [A]", yLabel: "calibration", title: "5. flux calibration vector")

        let p6 = Axes(canvas: canvas, left: 80, top: 920, width: 1380, height: 150)
        let f = stages.flatMap { $0.calibratedFlux.map(Double.init) }
        p6.setLimits(x: (wmin, wmax), y: robustRange(f, floor: nil))
        var pulls: [(Double, Double)] = []
        for s in stages where !s.calibratedFlux.isEmpty {
            p6.plot(x: s.wave, y: s.calibratedFlux.map(Double.init), color: color(s), lineWidth: 0.7)
            let model = s.model ?? redrock.map { r in
                Interpolation.linear(x: r.wave, y: r.flux.map(Double.init), at: s.wave, left: .nan, right: .nan)
            }
            guard let m = model else { continue }
            p6.plot(x: s.wave, y: m, color: .black, lineWidth: 1)
            for j in s.wave.indices where s.calibratedIvar[j] > 0 && m[j].isFinite {
                pulls.append((s.wave[j], (Double(s.calibratedFlux[j]) - m[j]) * Double(s.calibratedIvar[j]).squareRoot()))
            }
        }
        let modelName = stages.contains { $0.model != nil } ? "standard-star model" : (redrock != nil ? "redrock model" : "no model")
        p6.decorate(xLabel: "", yLabel: "flux", title: "6. calibrated spectrum and \(modelName) (black)")
        let p7 = Axes(canvas: canvas, left: 80, top: 1080, width: 1380, height: 60)
        p7.setLimits(x: (wmin, wmax), y: (-5, 5))
        p7.scatter(x: pulls.map(\.0), y: pulls.map(\.1), color: .gray, radius: 0.8)
        p7.horizontalLine(0)
        p7.decorate(xLabel: "Wavelength [A]", yLabel: "(d-m)/sigma", title: "")
        try canvas.writePNG(path)
    }

    /// Data, model and residual strips of one camera, each over [k, k + 1] in y (residual at the bottom), on the
    /// zscale range of the data.
    private static func drawCutout(_ s: FiberStageData, on a: Axes) {
        let width = 2 * s.halfWidth + 1, n = s.cutoutWave.count
        guard n > 1 else { return }
        // rows of the trace become columns of the strip, in wavelength order
        let order = s.cutoutWave.indices.sorted { s.cutoutWave[$0] < s.cutoutWave[$1] }
        func strip(_ v: (Int) -> Float) -> [Float] {
            var out = [Float](repeating: .nan, count: width * n)
            for c in 0..<width { for (j, k) in order.enumerated() { out[c * n + j] = v(k * width + c) } }
            return out
        }
        let data = strip { s.cutout[$0] }, model = strip { s.cutoutModel[$0] }
        let resid = strip { s.cutout[$0] - s.cutoutModel[$0] }
        let range = ZScale.limits(data)
        let w0 = s.cutoutWave[order.first!], w1 = s.cutoutWave[order.last!]
        let x0 = a.px(w0), x1 = a.px(w1)
        for (k, img) in [resid, model, data].enumerated() {
            let span = range.1 - range.0
            let low = k == 0 ? -span / 2 : range.0   // the residual is centred on zero, on the data's span
            let pixels = img.map { v -> Color in
                v.isFinite ? Colormap.gray.color((Double(v) - low) / span) : Color(1, 0, 1)
            }
            // the strip's row 0 (first column offset) at the bottom
            var flipped = [Color](repeating: .black, count: pixels.count)
            for r in 0..<width { for c in 0..<n { flipped[(width - 1 - r) * n + c] = pixels[r * n + c] } }
            a.canvas.raster(flipped, rows: width, columns: n, x: x0, y: a.py(Double(k + 1)), width: x1 - x0,
                            height: a.py(Double(k)) - a.py(Double(k + 1)))
        }
    }

    /// The 1-99 percentile range with a 10 % margin (a floor at 0 when given); (0, 1) without data.
    static func robustRange(_ v: [Double], floor: Double?) -> (Double, Double) {
        let f = v.filter(\.isFinite).sorted()
        guard f.count > 1 else { return (0, 1) }
        var lo = f[Int(Double(f.count - 1) * 0.01)], hi = f[Int(Double(f.count - 1) * 0.99)]
        if let fl = floor { lo = min(lo, fl) }
        let pad = 0.1 * max(hi - lo, 1e-12)
        lo -= pad; hi += pad
        return (lo, hi)
    }
}
