/// An RGBA colour, components in 0...1.
public struct Color: Sendable, Equatable {
    public var r, g, b, a: Double
    public init(_ r: Double, _ g: Double, _ b: Double, _ a: Double = 1) { self.r = r; self.g = g; self.b = b; self.a = a }

    public static let black = Color(0, 0, 0)
    public static let white = Color(1, 1, 1)
    public static let gray = Color(0.5, 0.5, 0.5)
    public static let lightGray = Color(0.85, 0.85, 0.85)
    public static let red = Color(0.84, 0.15, 0.16)
    public static let blue = Color(0.12, 0.47, 0.71)
    public static let green = Color(0.17, 0.63, 0.17)
    public static let orange = Color(1.0, 0.5, 0.05)
    public static let purple = Color(0.58, 0.4, 0.74)

    /// Colours for successive data series (matplotlib's tab10 order).
    public static let cycle: [Color] = [.blue, .orange, .green, .red, .purple, Color(0.55, 0.34, 0.29), Color(0.89, 0.47, 0.76)]
}

/// A colour map: value in 0...1 to colour, by linear interpolation between anchors.
public struct Colormap: Sendable {
    public var anchors: [Color]
    public init(anchors: [Color]) { self.anchors = anchors }

    public func color(_ t: Double) -> Color {
        let x = min(max(t.isFinite ? t : 0, 0), 1) * Double(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2)
        let f = x - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        return Color(a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b))
    }

    public static let gray = Colormap(anchors: [.black, .white])
    /// Perceptually uniform, as matplotlib's viridis (sampled at 9 points).
    public static let viridis = Colormap(anchors: [
        Color(0.267, 0.005, 0.329), Color(0.283, 0.141, 0.458), Color(0.254, 0.265, 0.530),
        Color(0.207, 0.372, 0.553), Color(0.164, 0.471, 0.558), Color(0.128, 0.567, 0.551),
        Color(0.135, 0.659, 0.518), Color(0.478, 0.821, 0.318), Color(0.993, 0.906, 0.144),
    ])
    /// Diverging blue-white-red, for residuals centred on zero.
    public static let residual = Colormap(anchors: [Color(0.02, 0.19, 0.38), Color(0.57, 0.77, 0.87), .white,
                                                    Color(0.96, 0.65, 0.51), Color(0.40, 0.0, 0.12)])
}
