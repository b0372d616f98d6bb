import DESICore
import Foundation
import Plot

/// Figures for people: a frame as an image, the diagnosis of a frame, sky residuals, S/N against magnitude, spectra.
public enum Figures {

    /// Mean of `factor` consecutive wavelength pixels (inverse-variance weighted where ivar is given).
    public static func rebin(_ flux: [Float], ivar: [Float]?, nspec: Int, nwave: Int, factor: Int) -> (flux: [Float], nwave: Int) {
        guard factor > 1 else { return (flux, nwave) }
        let nout = nwave / factor
        var out = [Float](repeating: .nan, count: nspec * nout)
        for f in 0..<nspec {
            for b in 0..<nout {
                var sw = 0.0, swx = 0.0
                for j in (b * factor)..<((b + 1) * factor) {
                    let w = ivar.map { Double($0[f * nwave + j]) } ?? 1
                    if w > 0 && flux[f * nwave + j].isFinite { sw += w; swx += w * Double(flux[f * nwave + j]) }
                }
                if sw > 0 { out[f * nout + b] = Float(swx / sw) }
            }
        }
        return (out, nout)
    }

    /// A frame (or a sky, fiber-flat or flux-calibration product) as an image: one row per fiber, wavelength
    /// along x, grey scale set by zscale as ds9 shows it.
    public static func frameImage(_ frame: some PerFiberProduct, rows: [Int]? = nil, rebinFactor: Int = 1, title: String,
                                  path: String) throws {
        let selected = rows ?? Array(0..<frame.nspec)
        guard !selected.isEmpty else { throw DESIError.invalidArgument("\(path): no fibers to show") }
        var flux = [Float](), ivar = [Float]()
        for r in selected {
            let row = frame.float32Row(r)
            flux += row.values
            ivar += row.ivar
        }
        let (binned, nout) = rebin(flux, ivar: ivar, nspec: selected.count, nwave: frame.nwave, factor: rebinFactor)
        let canvas = Canvas(width: 1100, height: max(400, min(1400, 200 + 2 * selected.count)))
        let axes = Axes(canvas: canvas, left: 80, top: 40, width: Double(canvas.width) - 180, height: Double(canvas.height) - 100)
        let range = ZScale.limits(binned)
        let fibers = frame.fibers
        axes.image(binned, rows: selected.count, columns: nout,
                   extent: (frame.wave.first!, frame.wave.last!, -0.5, Double(selected.count) - 0.5), range: range)
        axes.colorbar(range: range, colormap: .gray, label: frame.header.string("BUNIT") ?? "flux")
        let fiberLabel = rows == nil ? "fiber index (first fiber \(fibers.first ?? 0))" : "selected fiber (row)"
        axes.decorate(xLabel: "Wavelength [A]", yLabel: fiberLabel, title: title)
        try canvas.writePNG(path)
    }

    /// The diagnosis: normalized residual image with the features boxed, the feature's residual on the focal plane,
    /// and the mean residual spectrum of the affected fibers against the others.
    public static func diagnosis(_ d: FrameDiagnosis, frame: Frame, title: String, path: String) throws {
        let canvas = Canvas(width: 1200, height: 900)
        let nbin = d.binCenters.count
        let top = Axes(canvas: canvas, left: 80, top: 40, width: 1000, height: 430)
        top.image(d.residualImage, rows: d.nspec, columns: nbin,
                  extent: (d.binCenters.first!, d.binCenters.last!, -0.5, Double(d.nspec) - 0.5), range: (-5, 5), colormap: .residual)
        top.colorbar(range: (-5, 5), colormap: .residual, label: "residual / sigma")
        for f in d.features {
            let rows = f.fibers.compactMap { frame.fibers.firstIndex(of: $0) }
            guard let r0 = rows.min(), let r1 = rows.max() else { continue }
            canvas.rectangle(x: top.px(f.waveMin), y: top.py(Double(r1) + 0.5), width: top.px(f.waveMax) - top.px(f.waveMin),
                             height: top.py(Double(r0) - 0.5) - top.py(Double(r1) + 0.5), stroke: .black, lineWidth: 2)
        }
        let verdict = d.flagged ? "\(d.features.count) feature(s): \(d.features[0].alignment)-aligned" : "no broad residual feature"
        top.decorate(xLabel: "Wavelength [A]", yLabel: "fiber index", title: "\(title): \(verdict)")

        // Focal plane: mean normalized residual over the first feature's wavelength range (or all).
        let left = Axes(canvas: canvas, left: 80, top: 540, width: 480, height: 300)
        let waveRange = d.features.first.map { ($0.waveMin, $0.waveMax) } ?? (d.binCenters.first!, d.binCenters.last!)
        let bins = (0..<nbin).filter { d.binCenters[$0] >= waveRange.0 && d.binCenters[$0] <= waveRange.1 }
        let perFiber = (0..<d.nspec).map { f in
            bins.isEmpty ? 0 : bins.reduce(0.0) { $0 + Double(d.residualImage[f * nbin + $1]) } / Double(bins.count)
        }
        if let fm = frame.fibermap {
            let x = fm.fiberX, y = fm.fiberY
            left.autoscale(x: x, y: [y])
            for i in 0..<min(d.nspec, x.count) {
                let c = Colormap.residual.color((perFiber[i] + 3) / 6)
                canvas.circle(x: left.px(x[i]), y: left.py(y[i]), radius: 3.5, fill: c)
            }
        }
        left.decorate(xLabel: "FIBER_X [mm]", yLabel: "FIBER_Y [mm]",
                      title: String(format: "residual %.0f-%.0f A on the focal plane", waveRange.0, waveRange.1))

        // Mean residual spectrum, affected fibers vs the rest.
        let right = Axes(canvas: canvas, left: 650, top: 540, width: 480, height: 300)
        let affected = Set(d.features.first?.fibers.compactMap { frame.fibers.firstIndex(of: $0) } ?? [])
        func meanCurve(_ rows: [Int]) -> [Double] {
            (0..<nbin).map { b in rows.isEmpty ? 0 : rows.reduce(0.0) { $0 + Double(d.residualImage[$1 * nbin + b]) } / Double(rows.count) }
        }
        let a = meanCurve(affected.sorted()), o = meanCurve((0..<d.nspec).filter { !affected.contains($0) })
        right.autoscale(x: d.binCenters, y: [a, o, [-1, 1]])
        right.plot(x: d.binCenters, y: o, color: .gray, label: "other fibers")
        if !affected.isEmpty { right.plot(x: d.binCenters, y: a, color: .red, lineWidth: 2, label: "affected fibers") }
        right.horizontalLine(0)
        right.decorate(xLabel: "Wavelength [A]", yLabel: "mean residual / sigma", title: "mean residual")
        try canvas.writePNG(path)
    }

    /// Sky residuals: median residual of the sky fibers against wavelength, and the histogram of residual/sigma.
    public static func skyResiduals(_ metrics: QAValue, wave: [Double], title: String, path: String) throws {
        let canvas = Canvas(width: 1100, height: 450)
        let a = Axes(canvas: canvas, left: 80, top: 40, width: 600, height: 340)
        let med = metrics["MED_RESID_WAVE"]?.list?.compactMap(\.double) ?? []
        a.autoscale(x: wave, y: [med])
        a.plot(x: wave, y: med, color: .blue, label: "median over sky fibers")
        a.horizontalLine(0)
        a.decorate(xLabel: "Wavelength [A]", yLabel: "sky residual", title: title)
        let h = Axes(canvas: canvas, left: 760, top: 40, width: 300, height: 340)
        let counts = metrics["DEVS_1D"]?.list?.compactMap(\.int).map(Double.init) ?? []
        let edges = metrics["DEVS_EDGES"]?.list?.compactMap(\.double) ?? []
        if counts.count + 1 == edges.count, let maxCount = counts.max(), maxCount > 0 {
            let centers = (0..<counts.count).map { 0.5 * (edges[$0] + edges[$0 + 1]) }
            h.setLimits(x: (max(-6, edges.first!), min(6, edges.last!)), y: (0, maxCount * 1.1))
            h.plot(x: centers, y: counts, color: .blue, label: "data")
            let total = counts.reduce(0, +), width = edges[1] - edges[0]
            h.plot(x: centers, y: centers.map { total * width * exp(-0.5 * $0 * $0) / (2 * Double.pi).squareRoot() },
                   color: .red, label: "N(0,1)", dash: [5, 3])
        }
        h.decorate(xLabel: "residual / sigma", yLabel: "pixels", title: "deviates")
        try canvas.writePNG(path)
    }

    /// Median S/N per fiber against r magnitude, one colour per target class.
    public static func signalToNoise(_ metrics: QAValue, title: String, path: String) throws {
        let canvas = Canvas(width: 800, height: 550)
        let a = Axes(canvas: canvas)
        var xs: [Double] = [], ys: [Double] = []
        let classes = ["ELG", "LRG", "QSO", "BGS", "STD", "MWS"].filter { metrics[$0] != nil }
        for c in classes {
            xs += metrics[c]?["MAG"]?.list?.compactMap(\.double) ?? []; ys += metrics[c]?["SNR"]?.list?.compactMap(\.double) ?? []
        }
        let pos = ys.filter { $0 > 0 }.map(log10)
        a.autoscale(x: xs.filter(\.isFinite), y: [pos])
        for c in classes {
            let m = metrics[c]?["MAG"]?.list?.compactMap(\.double) ?? [], s = metrics[c]?["SNR"]?.list?.compactMap(\.double) ?? []
            let keep = zip(m, s).filter { $0.1 > 0 && $0.0.isFinite }
            a.scatter(x: keep.map(\.0), y: keep.map { log10($0.1) }, label: c)
        }
        a.decorate(xLabel: "r magnitude (AB)", yLabel: "log10 median S/N per pixel", title: title)
        try canvas.writePNG(path)
    }

    /// Spectra (one panel each): flux with its 1-sigma error, an optional model, rebinned.
    public static func spectra(_ panels: [(title: String, wave: [Double], flux: [Float], ivar: [Float], model: [Float]?)],
                               rebinFactor: Int = 1, path: String) throws {
        guard !panels.isEmpty else { throw DESIError.invalidArgument("\(path): no spectra to plot") }
        let canvas = Canvas(width: 1100, height: 330 * panels.count)
        for (i, p) in panels.enumerated() {
            let a = Axes(canvas: canvas, row: i, column: 0, rows: panels.count, columns: 1)
            let (f, n) = rebin(p.flux, ivar: p.ivar, nspec: 1, nwave: p.wave.count, factor: rebinFactor)
            let w = rebinFactor > 1
                ? (0..<n).map { b in p.wave[(b * rebinFactor)..<((b + 1) * rebinFactor)].reduce(0, +) / Double(rebinFactor) }
                : p.wave
            let err = rebinFactor > 1 ? [Double](repeating: .nan, count: n) : p.ivar.map { $0 > 0 ? 1 / Double($0).squareRoot() : .nan }
            let flux = f.map(Double.init)
            let finite = flux.filter(\.isFinite).sorted()
            let lo = finite.isEmpty ? 0 : finite[Int(Double(finite.count) * 0.005)]
            let hi = finite.isEmpty ? 1 : finite[Int(Double(finite.count - 1) * 0.995)]
            a.setLimits(x: (w.first ?? 0, w.last ?? 1), y: (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)))
            if rebinFactor == 1 { a.plot(x: w, y: err, color: .lightGray, label: "error") }
            a.plot(x: w, y: flux, color: .black, lineWidth: 0.8, label: "data")
            if let m = p.model {
                let (mb, _) = rebin(m, ivar: nil, nspec: 1, nwave: p.wave.count, factor: rebinFactor)
                a.plot(x: w, y: mb.map(Double.init), color: .red, lineWidth: 1.2, label: "model")
            }
            a.decorate(xLabel: "Wavelength [A]", yLabel: "Flux", title: p.title)
        }
        try canvas.writePNG(path)
    }
}
