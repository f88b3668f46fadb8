//! Matrix products on plain `f32` slices for the CPU inference paths ([`crate::fast_conv`],
//! the transformer's), through the `gemm` crate: it picks AVX-512, AVX2 or NEON kernels
//! at run time, which `matrixmultiply` (AVX2 at most) does not.

use gemm::Parallelism;

/// A matrix inside a slice: `rows x columns`, element `(i, j)` at
/// `i * row_stride + j * column_stride`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatrixRef<'a> {
    data: &'a [f32],
    rows: usize,
    columns: usize,
    row_stride: usize,
    column_stride: usize,
}

impl<'a> MatrixRef<'a> {
    /// `data` as a row-major `rows x columns` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, columns: usize) -> Self {
        MatrixRef { data, rows, columns, row_stride: columns, column_stride: 1 }
    }

    /// `rows x columns` with rows `row_stride` apart in `data`; rows may overlap (a
    /// Toeplitz matrix read in place).
    pub fn strided(data: &'a [f32], rows: usize, columns: usize, row_stride: usize) -> Self {
        MatrixRef { data, rows, columns, row_stride, column_stride: 1 }
    }

    /// Columns `start .. start + count`.
    pub fn columns(self, start: usize, count: usize) -> Self {
        let offset = (start * self.column_stride).min(self.data.len());
        MatrixRef { data: &self.data[offset..], columns: count, ..self }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        MatrixRef {
            rows: self.columns,
            columns: self.rows,
            row_stride: self.column_stride,
            column_stride: self.row_stride,
            ..self
        }
    }

    /// Whether every element lies inside the slice.
    fn fits(&self, len: usize) -> bool {
        self.rows == 0
            || self.columns == 0
            || (self.rows - 1) * self.row_stride + (self.columns - 1) * self.column_stride < len
    }
}

/// `out = (accumulate ? out : 0) + scale * a · b`, where `out` is the row-major
/// `a.rows x b.columns` matrix starting at `out[0]` with rows `out_row_stride` apart.
/// On the calling thread: the callers run items (or runs of items) in parallel.
///
/// # Panics
/// If the shapes disagree or a matrix does not fit in its slice: these are the
/// caller's bugs, and `gemm` reads raw pointers.
pub(crate) fn multiply(
    out: &mut [f32],
    out_row_stride: usize,
    a: MatrixRef<'_>,
    b: MatrixRef<'_>,
    scale: f32,
    accumulate: bool,
) {
    let (m, k, n) = (a.rows, a.columns, b.columns);
    assert_eq!(k, b.rows, "inner dimensions differ");
    let target = MatrixRef { data: out, rows: m, columns: n, row_stride: out_row_stride, column_stride: 1 };
    assert!(a.fits(a.data.len()) && b.fits(b.data.len()) && target.fits(out.len()), "matrix outside its slice");
    if m == 0 || n == 0 {
        return;
    }
    let stride = |s: usize| s as isize;
    // SAFETY: every index the product touches, (i, j) < (rows, columns) for each
    // matrix, lies inside its slice (checked above); `out` is borrowed mutably, so it
    // does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            stride(out_row_stride),
            accumulate,
            a.data.as_ptr(),
            stride(a.column_stride),
            stride(a.row_stride),
            b.data.as_ptr(),
            stride(b.column_stride),
            stride(b.row_stride),
            1.0,
            scale,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: MatrixRef<'_>, b: MatrixRef<'_>) -> Vec<f32> {
        let at = |m: &MatrixRef<'_>, i: usize, j: usize| m.data[i * m.row_stride + j * m.column_stride];
        let mut out = vec![0.0; a.rows * b.columns];
        for i in 0..a.rows {
            for j in 0..b.columns {
                out[i * b.columns + j] = (0..a.columns).map(|p| at(&a, i, p) * at(&b, p, j)).sum();
            }
        }
        out
    }

    #[test]
    fn products_of_views_equal_the_naive_ones() {
        let data: Vec<f32> = (0..600).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
        let a = MatrixRef::row_major(&data, 12, 20).columns(4, 9);
        let b = MatrixRef::row_major(&data[280..], 9, 20).t().t();
        let bt = MatrixRef::row_major(&data[100..], 7, 9).t(); // 9 x 7, column-major
        for b in [b.columns(0, 7), bt] {
            let mut out = vec![1.0; 12 * 7];
            multiply(&mut out, 7, a, b, 1.0, false);
            let expected = naive(a, b);
            for (x, y) in out.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-4, "{x} vs {y}");
            }
            // Accumulating, scaled, into a wider output.
            let mut wide = vec![1.0; 12 * 10];
            multiply(&mut wide, 10, a, b, 0.5, true);
            for i in 0..12 {
                for j in 0..7 {
                    let e = 1.0 + 0.5 * expected[i * 7 + j];
                    assert!((wide[i * 10 + j] - e).abs() < 1e-4);
                }
                assert!(wide[i * 10 + 7..i * 10 + 10].iter().all(|&v| v == 1.0));
            }
        }
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn a_view_past_its_slice_is_refused() {
        let data = vec![0.0; 10];
        let a = MatrixRef::row_major(&data, 3, 4);
        let mut out = vec![0.0; 9];
        multiply(&mut out, 3, a, MatrixRef::row_major(&data, 4, 3).t().t(), 1.0, false);
    }
}
