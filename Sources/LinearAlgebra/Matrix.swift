/// A dense matrix of Double, row-major: element (i, j) is `data[i * cols + j]`.
/// Products and factorizations go to OpenBLAS / LAPACKE (see LAPACK.swift).
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var data: [Double]

    public init(rows: Int, cols: Int, data: [Double]) {
        precondition(rows >= 0 && cols >= 0 && data.count == rows * cols, "Matrix: data must have rows*cols elements")
        self.rows = rows; self.cols = cols; self.data = data
    }

    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        self.init(rows: rows, cols: cols, data: [Double](repeating: value, count: rows * cols))
    }

    /// The n x n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.data[i * n + i] = 1 }
        return m
    }

    /// A square matrix with `d` on its diagonal.
    public static func diagonal(_ d: [Double]) -> Matrix {
        var m = Matrix(rows: d.count, cols: d.count)
        for (i, v) in d.enumerated() { m.data[i * d.count + i] = v }
        return m
    }

    @inlinable public subscript(i: Int, j: Int) -> Double {
        get { data[i * cols + j] }
        set { data[i * cols + j] = newValue }
    }

    public var isSquare: Bool { rows == cols }

    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        data.withUnsafeBufferPointer { a in
            t.data.withUnsafeMutableBufferPointer { b in
                for i in 0..<rows { for j in 0..<cols { b[j * rows + i] = a[i * cols + j] } }
            }
        }
        return t
    }

    /// The diagonal (square or not: min(rows, cols) values).
    public var diagonalValues: [Double] { (0..<min(rows, cols)).map { data[$0 * cols + $0] } }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Double] { Array(data[(i * cols)..<((i + 1) * cols)]) }

    /// Sum of each row.
    public var rowSums: [Double] {
        var s = [Double](repeating: 0, count: rows)
        data.withUnsafeBufferPointer { a in
            for i in 0..<rows {
                var t = 0.0
                for j in 0..<cols { t += a[i * cols + j] }
                s[i] = t
            }
        }
        return s
    }

    /// The square block of rows and columns `range` (a diagonal block).
    public func block(_ range: Range<Int>) -> Matrix { block(rows: range, cols: range) }

    /// The sub-matrix of rows `r` and columns `c`.
    public func block(rows r: Range<Int>, cols c: Range<Int>) -> Matrix {
        var b = Matrix(rows: r.count, cols: c.count)
        data.withUnsafeBufferPointer { a in
            b.data.withUnsafeMutableBufferPointer { o in
                for (ii, i) in r.enumerated() {
                    for (jj, j) in c.enumerated() { o[ii * c.count + jj] = a[i * cols + j] }
                }
            }
        }
        return b
    }

    /// Copies the lower triangle onto the upper one (LAPACK routines fill only one half).
    public mutating func symmetrizeFromLower() {
        let n = rows
        precondition(isSquare)
        data.withUnsafeMutableBufferPointer { a in
            for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { a[i * n + j] = a[j * n + i] } }
        }
    }

    /// Replaces the matrix by (M + M^T) / 2.
    public mutating func symmetrize() {
        let n = rows
        precondition(isSquare)
        data.withUnsafeMutableBufferPointer { a in
            for i in 0..<n {
                for j in (i + 1)..<max(n, i + 1) {
                    let v = 0.5 * (a[i * n + j] + a[j * n + i])
                    a[i * n + j] = v; a[j * n + i] = v
                }
            }
        }
    }
}
