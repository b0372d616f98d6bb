/// desispec's mask bits (desispec.maskbits, as coded in desispec 0.51+).

/// CCD pixel mask bits (preproc MASK HDU).
public enum CCDMask {
    public static let bad: UInt32 = 1 << 0
    public static let hot: UInt32 = 1 << 1
    public static let dead: UInt32 = 1 << 2
    public static let saturated: UInt32 = 1 << 3
    public static let cosmic: UInt32 = 1 << 4
    public static let pixflatZero: UInt32 = 1 << 5
    public static let pixflatLow: UInt32 = 1 << 6
    public static let highVariance: UInt32 = 1 << 7
    public static let badReadnoise: UInt32 = 1 << 8
    public static let badAmp: UInt32 = 1 << 9

    public static let names: [(String, UInt32)] = [
        ("BAD", bad), ("HOT", hot), ("DEAD", dead), ("SATURATED", saturated), ("COSMIC", cosmic),
        ("PIXFLATZERO", pixflatZero), ("PIXFLATLOW", pixflatLow), ("HIGHVAR", highVariance),
        ("BADREADNOISE", badReadnoise), ("BADAMP", badAmp),
    ]

    /// Bits that make a pixel unusable for extraction (desispec.maskbits.extractmaskval).
    public static let extractionMask: UInt32 = bad | hot | dead | saturated | cosmic | pixflatZero | pixflatLow | highVariance | badAmp
}

/// Spectral pixel mask bits (frame, sky, fiberflat, fluxcalib MASK HDUs).
public enum SpecMask {
    public static let someBadPix: UInt32 = 1 << 0
    public static let allBadPix: UInt32 = 1 << 1
    public static let cosmic: UInt32 = 1 << 2
    public static let lowFlat: UInt32 = 1 << 3
    public static let badFiberFlat: UInt32 = 1 << 4
    public static let brightSky: UInt32 = 1 << 5
    public static let badSky: UInt32 = 1 << 6
    public static let bad2DFit: UInt32 = 1 << 7
    public static let noData: UInt32 = 1 << 8
    public static let badFiber: UInt32 = 1 << 9
    public static let badColumn: UInt32 = 1 << 10
    public static let saturated: UInt32 = 1 << 11
    public static let contaminated: UInt32 = 1 << 12

    public static let names: [(String, UInt32)] = [
        ("SOMEBADPIX", someBadPix), ("ALLBADPIX", allBadPix), ("COSMIC", cosmic), ("LOWFLAT", lowFlat),
        ("BADFIBERFLAT", badFiberFlat), ("BRIGHTSKY", brightSky), ("BADSKY", badSky), ("BAD2DFIT", bad2DFit),
        ("NODATA", noData), ("BADFIBER", badFiber), ("BADCOLUMN", badColumn), ("SATURATED", saturated),
        ("CONTAMINATED", contaminated),
    ]
}

/// Fiber status bits (FIBERSTATUS column of the fibermap).
public enum FiberStatus {
    public static let unassigned: UInt32 = 1 << 0
    public static let stuckPositioner: UInt32 = 1 << 1
    public static let brokenFiber: UInt32 = 1 << 2
    public static let restricted: UInt32 = 1 << 3
    public static let missingPosition: UInt32 = 1 << 8
    public static let badPosition: UInt32 = 1 << 9
    public static let poorPosition: UInt32 = 1 << 10
    public static let lowTransmission: UInt32 = 1 << 12
    public static let badFiber: UInt32 = 1 << 16
    public static let badTrace: UInt32 = 1 << 17
    public static let badFlat: UInt32 = 1 << 18
    public static let badArc: UInt32 = 1 << 19
    public static let manyBadColumns: UInt32 = 1 << 20
    public static let manyRejected: UInt32 = 1 << 21
    public static let badAmpB: UInt32 = 1 << 22
    public static let badAmpR: UInt32 = 1 << 23
    public static let badAmpZ: UInt32 = 1 << 24
    public static let badReadnoise: UInt32 = 1 << 30

    /// The bad-amplifier bit of an arm (all three when the arm is unknown).
    public static func badAmp(arm: Camera.Arm?) -> UInt32 {
        switch arm {
        case .b?: return badAmpB
        case .r?: return badAmpR
        case .z?: return badAmpZ
        case nil: return badAmpB | badAmpR | badAmpZ
        }
    }
}

/// Names of the bits set in `value`, given a table of (name, bit).
public func maskBitNames(_ value: UInt32, table: [(String, UInt32)]) -> [String] {
    table.filter { value & $0.1 != 0 }.map(\.0)
}
