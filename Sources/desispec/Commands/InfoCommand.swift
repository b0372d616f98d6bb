import ArgumentParser
import FITS
import Foundation

/// `desispec info FILE`: what a FITS file holds, HDU by HDU (for debugging one odd file).
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "List the HDUs of a FITS file: names, image shapes, table columns, and optionally headers.",
        discussion: "Example: desispec info preproc-r0-00000001.fits --header IMAGE"
    )

    @Argument(help: "FITS file to describe.")
    var file: String
    @Option(name: .long, help: "Print the full header of this HDU (name or 0-based number).")
    var header: String?

    func run() throws {
        try runStep {
            let f = try FITSFile.open(file)
            let names = f.hduNames()
            for (i, name) in names.enumerated() {
                try f.moveTo(index: i)
                var line = String(i).leftPadded(to: 3) + "  " + name.padding(toLength: 14, withPad: " ", startingAt: 0)
                switch f.currentHDUType {
                case .image:
                    let (bitpix, shape) = try f.imageShape()
                    let dims = shape.map(String.init).joined(separator: "x")
                    line += shape.reduce(1, *) == 0 ? "  (no data)" : "  image \(dims) BITPIX=\(bitpix)"
                    if f.isCompressedImage { line += " (tile-compressed)" }
                case .binaryTable, .asciiTable:
                    let t = try f.readTable()
                    line += "  table \(t.rowCount) rows: " + t.columns.map { c in
                        c.cellShape.isEmpty ? c.name : "\(c.name)\(c.cellShape)"
                    }.joined(separator: " ")
                }
                print(line)
            }
            if let h = header {
                if let i = Int(h) { try f.moveTo(index: i) } else { try f.moveTo(name: h) }
                for card in try f.readHeader().cards {
                    if card.isCommentary { print("\(card.key.padding(toLength: 8, withPad: " ", startingAt: 0)) \(card.comment)") }
                    else {
                        let key = card.key.padding(toLength: 8, withPad: " ", startingAt: 0)
                        print("\(key) = \(card.value)" + (card.comment.isEmpty ? "" : " / \(card.comment)"))
                    }
                }
            }
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
