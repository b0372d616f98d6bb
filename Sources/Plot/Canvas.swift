internal import CCairo
import Foundation

/// A raster drawing surface (cairo image surface) that is saved as PNG.
public final class Canvas {
    public let width: Int
    public let height: Int
    let surface: OpaquePointer
    let cr: OpaquePointer

    public init(width: Int, height: Int, background: Color = .white) {
        self.width = width; self.height = height
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height))
        cr = cairo_create(surface)
        setColor(background)
        cairo_paint(cr)
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    func setColor(_ c: Color) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a) }

    public func line(_ points: [(Double, Double)], color: Color, width: Double = 1.2, dash: [Double] = []) {
        guard points.count > 1 else { return }
        setColor(color)
        cairo_set_line_width(cr, width)
        cairo_set_dash(cr, dash, Int32(dash.count), 0)
        var penDown = false
        for (x, y) in points {
            guard x.isFinite, y.isFinite else { penDown = false; continue }
            if penDown { cairo_line_to(cr, x, y) } else { cairo_move_to(cr, x, y); penDown = true }
        }
        cairo_stroke(cr)
        cairo_set_dash(cr, [], 0, 0)
    }

    public func rectangle(x: Double, y: Double, width w: Double, height h: Double, fill: Color? = nil, stroke: Color? = nil,
                          lineWidth: Double = 1) {
        cairo_rectangle(cr, x, y, w, h)
        if let fill { setColor(fill); stroke == nil ? cairo_fill(cr) : cairo_fill_preserve(cr) }
        if let stroke { setColor(stroke); cairo_set_line_width(cr, lineWidth); cairo_stroke(cr) }
    }

    public func circle(x: Double, y: Double, radius: Double, fill: Color) {
        setColor(fill)
        cairo_arc(cr, x, y, radius, 0, 2 * Double.pi)
        cairo_fill(cr)
    }

    public enum Anchor { case left, center, right }

    /// Draws text with its baseline-centre at (x, y) adjusted by `anchor`; `rotate` in radians.
    public func text(_ s: String, x: Double, y: Double, size: Double = 12, color: Color = .black, anchor: Anchor = .left,
                     rotate: Double = 0, verticalCenter: Bool = true) {
        cairo_save(cr)
        cairo_set_font_size(cr, size)
        var ext = cairo_text_extents_t()
        cairo_text_extents(cr, s, &ext)
        cairo_translate(cr, x, y)
        cairo_rotate(cr, rotate)
        let dx: Double = anchor == .left ? 0 : (anchor == .center ? -ext.width / 2 - ext.x_bearing : -ext.width - ext.x_bearing)
        let dy: Double = verticalCenter ? -(ext.y_bearing + ext.height / 2) : 0
        cairo_move_to(cr, dx, dy)
        setColor(color)
        cairo_show_text(cr, s)
        cairo_restore(cr)
    }

    public func textWidth(_ s: String, size: Double) -> Double {
        cairo_save(cr)
        cairo_set_font_size(cr, size)
        var ext = cairo_text_extents_t()
        cairo_text_extents(cr, s, &ext)
        cairo_restore(cr)
        return ext.x_advance
    }

    /// Paints an RGB raster (row 0 at the top) scaled into the rectangle, nearest-neighbour.
    public func raster(_ pixels: [Color], rows: Int, columns: Int, x: Double, y: Double, width w: Double, height h: Double) {
        precondition(pixels.count == rows * columns)
        guard let img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(columns), Int32(rows)) as OpaquePointer? else { return }
        defer { cairo_surface_destroy(img) }
        cairo_surface_flush(img)
        let stride = Int(cairo_image_surface_get_stride(img))
        if let data = cairo_image_surface_get_data(img) {
            for r in 0..<rows {
                let row = data.advanced(by: r * stride).withMemoryRebound(to: UInt32.self, capacity: columns) { $0 }
                for c in 0..<columns {
                    let p = pixels[r * columns + c]
                    row[c] = UInt32(p.r * 255) << 16 | UInt32(p.g * 255) << 8 | UInt32(p.b * 255)
                }
            }
        }
        cairo_surface_mark_dirty(img)
        cairo_save(cr)
        cairo_rectangle(cr, x, y, w, h)
        cairo_clip(cr)
        cairo_translate(cr, x, y)
        cairo_scale(cr, w / Double(columns), h / Double(rows))
        cairo_set_source_surface(cr, img, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST)
        cairo_paint(cr)
        cairo_restore(cr)
    }

    public func clip(x: Double, y: Double, width w: Double, height h: Double) {
        cairo_save(cr)
        cairo_rectangle(cr, x, y, w, h)
        cairo_clip(cr)
    }
    public func unclip() { cairo_restore(cr) }

    /// Writes the PNG through a temporary file and a rename.
    public func writePNG(_ path: String) throws {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmpName = ".tmp-\(ProcessInfo.processInfo.processIdentifier)-\(url.lastPathComponent)"
        let tmp = url.deletingLastPathComponent().appendingPathComponent(tmpName).path
        cairo_surface_flush(surface)
        let status = cairo_surface_write_to_png(surface, tmp)
        guard status == CAIRO_STATUS_SUCCESS else {
            try? FileManager.default.removeItem(atPath: tmp)
            throw PlotError(path: path, message: String(cString: cairo_status_to_string(status)))
        }
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
    }
}

public struct PlotError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public var description: String { "\(path): cannot write PNG: \(message)" }
}
