internal import CCairo

/// A PNG read back into RGB pixels (for tests and for checking what a figure shows).
public struct PNGImage: Sendable {
    public let width: Int
    public let height: Int
    /// Row-major, top row first.
    public let pixels: [Color]

    public init(path: String) throws {
        let surface = cairo_image_surface_create_from_png(path)
        defer { cairo_surface_destroy(surface) }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw PlotError(path: path, message: "not a readable PNG")
        }
        cairo_surface_flush(surface)
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        var out = [Color]()
        out.reserveCapacity(width * height)
        if let data = cairo_image_surface_get_data(surface) {
            for r in 0..<height {
                for c in 0..<width {
                    let p = data.advanced(by: r * stride + 4 * c)
                    // ARGB32 little-endian: B, G, R, A
                    out.append(Color(Double(p[2]) / 255, Double(p[1]) / 255, Double(p[0]) / 255))
                }
            }
        }
        pixels = out
    }

    public func pixel(x: Int, y: Int) -> Color { pixels[y * width + x] }

    /// Fraction of pixels in a rectangle that differ from `background`.
    public func inkFraction(x0: Int = 0, y0: Int = 0, x1: Int? = nil, y1: Int? = nil, background: Color = .white) -> Double {
        let xe = x1 ?? width, ye = y1 ?? height
        var ink = 0, total = 0
        for y in y0..<ye { for x in x0..<xe {
            let p = pixels[y * width + x]
            total += 1
            if abs(p.r - background.r) + abs(p.g - background.g) + abs(p.b - background.b) > 0.05 { ink += 1 }
        } }
        return total == 0 ? 0 : Double(ink) / Double(total)
    }
}
