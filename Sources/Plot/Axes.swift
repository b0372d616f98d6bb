import Foundation

/// A rectangular plotting area on a canvas with linear x and y scales, ticks, labels, a title and a legend.
public final class Axes {
    public let canvas: Canvas
    /// Pixel rectangle of the data area.
    public let left, top, width, height: Double
    public private(set) var xRange: (Double, Double) = (0, 1)
    public private(set) var yRange: (Double, Double) = (0, 1)
    private var legendEntries: [(String, Color)] = []
    private var seriesCount = 0

    public init(canvas: Canvas, left: Double, top: Double, width: Double, height: Double) {
        self.canvas = canvas; self.left = left; self.top = top; self.width = width; self.height = height
    }

    /// An axes filling panel (row, column) of a rows x columns grid, with room for labels.
    public convenience init(canvas: Canvas, row: Int = 0, column: Int = 0, rows: Int = 1, columns: Int = 1) {
        let cw = Double(canvas.width) / Double(columns), ch = Double(canvas.height) / Double(rows)
        self.init(canvas: canvas, left: Double(column) * cw + 70, top: Double(row) * ch + 34, width: cw - 95, height: ch - 80)
    }

    public func setLimits(x: (Double, Double), y: (Double, Double)) {
        xRange = x.0 < x.1 ? x : (x.0 - 0.5, x.0 + 0.5)
        yRange = y.0 < y.1 ? y : (y.0 - 0.5, y.0 + 0.5)
    }

    /// Limits that enclose the data (finite values), with a small margin in y.
    public func autoscale(x: [Double], y: [[Double]], yMargin: Double = 0.05) {
        let xs = x.filter(\.isFinite), ys = y.flatMap { $0 }.filter(\.isFinite)
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else { return }
        let pad = (y1 - y0) * yMargin
        setLimits(x: (x0, x1), y: (y0 - pad, y1 + pad))
    }

    public func px(_ x: Double) -> Double { left + (x - xRange.0) / (xRange.1 - xRange.0) * width }
    public func py(_ y: Double) -> Double { top + height - (y - yRange.0) / (yRange.1 - yRange.0) * height }

    public func plot(x: [Double], y: [Double], color: Color? = nil, lineWidth: Double = 1.0, label: String? = nil, dash: [Double] = []) {
        let c = color ?? Color.cycle[seriesCount % Color.cycle.count]
        seriesCount += 1
        canvas.clip(x: left, y: top, width: width, height: height)
        canvas.line(zip(x, y).map { (px($0), py($1)) }, color: c, width: lineWidth, dash: dash)
        canvas.unclip()
        if let label { legendEntries.append((label, c)) }
    }

    public func scatter(x: [Double], y: [Double], color: Color? = nil, radius: Double = 2.5, label: String? = nil) {
        let c = color ?? Color.cycle[seriesCount % Color.cycle.count]
        seriesCount += 1
        canvas.clip(x: left, y: top, width: width, height: height)
        for (a, b) in zip(x, y) where a.isFinite && b.isFinite { canvas.circle(x: px(a), y: py(b), radius: radius, fill: c) }
        canvas.unclip()
        if let label { legendEntries.append((label, c)) }
    }

    public func horizontalLine(_ y: Double, color: Color = .gray, dash: [Double] = [4, 3]) {
        canvas.line([(left, py(y)), (left + width, py(y))], color: color, width: 1, dash: dash)
    }

    /// Shows a 2D array (row 0 at the bottom, as astronomers show images) over the given data extent.
    public func image(_ values: [Float], rows: Int, columns: Int, extent: (x0: Double, x1: Double, y0: Double, y1: Double),
                      range: (Double, Double), colormap: Colormap = .gray) {
        setLimits(x: (extent.x0, extent.x1), y: (extent.y0, extent.y1))
        let span = range.1 - range.0
        var pixels = [Color](repeating: .black, count: rows * columns)
        for r in 0..<rows {
            let dst = (rows - 1 - r) * columns
            for c in 0..<columns {
                let v = Double(values[r * columns + c])
                pixels[dst + c] = v.isFinite ? colormap.color((v - range.0) / span) : Color(1, 0, 1)
            }
        }
        canvas.raster(pixels, rows: rows, columns: columns, x: left, y: top, width: width, height: height)
    }

    /// A vertical colour bar to the right of the axes.
    public func colorbar(range: (Double, Double), colormap: Colormap, label: String = "") {
        let n = 64
        let pixels = (0..<n).map { colormap.color(1 - Double($0) / Double(n - 1)) }
        let x = left + width + 8
        canvas.raster(pixels, rows: n, columns: 1, x: x, y: top, width: 10, height: height)
        canvas.rectangle(x: x, y: top, width: 10, height: height, stroke: .black)
        canvas.text(Axes.format(range.1), x: x + 12, y: top + 4, size: 9)
        canvas.text(Axes.format(range.0), x: x + 12, y: top + height - 4, size: 9)
        if !label.isEmpty { canvas.text(label, x: x + 14, y: top + height / 2, size: 9, anchor: .center, rotate: Double.pi / 2) }
    }

    /// Frame, ticks with values, axis labels and title; call after drawing data.
    public func decorate(xLabel: String = "", yLabel: String = "", title: String = "") {
        canvas.rectangle(x: left, y: top, width: width, height: height, stroke: .black)
        for t in Axes.ticks(xRange) {
            let x = px(t)
            canvas.line([(x, top + height), (x, top + height - 5)], color: .black, width: 1)
            canvas.text(Axes.format(t), x: x, y: top + height + 12, size: 10, anchor: .center)
        }
        for t in Axes.ticks(yRange) {
            let y = py(t)
            canvas.line([(left, y), (left + 5, y)], color: .black, width: 1)
            canvas.text(Axes.format(t), x: left - 4, y: y, size: 10, anchor: .right)
        }
        if !xLabel.isEmpty { canvas.text(xLabel, x: left + width / 2, y: top + height + 30, size: 12, anchor: .center) }
        if !yLabel.isEmpty { canvas.text(yLabel, x: left - 52, y: top + height / 2, size: 12, anchor: .center, rotate: -Double.pi / 2) }
        if !title.isEmpty { canvas.text(title, x: left + width / 2, y: top - 14, size: 13, anchor: .center) }
        if !legendEntries.isEmpty {
            let w = (legendEntries.map { canvas.textWidth($0.0, size: 10) }.max() ?? 0) + 34
            let h = Double(legendEntries.count) * 15 + 6
            let x0 = left + width - w - 6, y0 = top + 6
            canvas.rectangle(x: x0, y: y0, width: w, height: h, fill: Color(1, 1, 1, 0.85), stroke: .lightGray)
            for (i, (label, color)) in legendEntries.enumerated() {
                let y = y0 + 11 + Double(i) * 15
                canvas.line([(x0 + 5, y), (x0 + 23, y)], color: color, width: 2)
                canvas.text(label, x: x0 + 28, y: y, size: 10)
            }
        }
    }

    /// About 5 "nice" tick values (1, 2, 5 x 10^k steps) inside the range.
    public static func ticks(_ range: (Double, Double), target: Int = 5) -> [Double] {
        let span = range.1 - range.0
        guard span > 0, span.isFinite else { return [] }
        let raw = span / Double(target)
        let mag = pow(10, floor(log10(raw)))
        let multiplier = [1.0, 2, 5, 10].first { $0 * mag >= raw } ?? 10
        // Tick k is k * multiplier * mag; dividing by 1/mag when mag < 1 keeps 0.6 exactly 0.6.
        func value(_ k: Double) -> Double { mag < 1 ? k * multiplier / (1 / mag).rounded() : k * multiplier * mag }
        let step = multiplier * mag
        var k = ceil(range.0 / step - 1e-9)
        var out: [Double] = []
        while value(k) <= range.1 + step * 1e-9 { out.append(value(k) == 0 ? 0 : value(k)); k += 1 }
        return out
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.2g", v) }
        if v == v.rounded() { return String(Int(v)) }
        return String(format: a < 1 ? "%.3g" : "%.4g", v)
    }
}
