//! The im2col layout of a stride-1 2-D convolution, and its adjoint.
//!
//! A convolution of one item is one matrix product, `weights [outputs, k] · columns [k,
//! n]`, once the input is laid out as columns ([`Im2col::fill`]); the gradient of the
//! input goes back the other way ([`Im2col::add_columns`], "col2im"). Shared by the
//! inference paths ([`crate::fast_conv`]) and the training block
//! ([`crate::conv_block`]).

/// The im2col layout of one item: row `(c, i, j)` (kernel position `i, j` of channel
/// `c`) holds, for every output pixel, the input pixel under that kernel cell (zero in
/// the padding).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Im2col {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub top: usize,
    pub left: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Im2col {
    /// For one channel and a kernel one column wide with no padding across (musicnn's
    /// temporal filters, 128 x 1 and shorter), im2col row `i` is the input padded in
    /// time read from its row `i` on: the im2col matrix is a view with overlapping rows.
    /// Writes the padded input to `padded` and returns the view's row stride; `None`
    /// for other shapes. (The 128-row im2col matrix was 9 MB per patch to write.)
    pub fn padded_in_time(&self, item: &[f32], padded: &mut Vec<f32>) -> Option<usize> {
        // With a kernel one column wide, equal widths mean no padding across.
        if self.channels != 1 || self.kernel_w != 1 || self.out_w != self.width {
            return None;
        }
        let rows = self.out_h + self.kernel_h - 1;
        let (top, end) = (self.top * self.width, self.top * self.width + item.len());
        padded.resize(rows * self.width, 0.0);
        padded[..top].fill(0.0);
        padded[top..end].copy_from_slice(item);
        padded[end..].fill(0.0);
        Some(self.width)
    }

    /// Writes the im2col matrix (`channels * kernel_h * kernel_w` rows of
    /// `out_h * out_w`) of `item` to `columns`.
    pub fn fill(&self, item: &[f32], columns: &mut [f32]) {
        let n = self.out_h * self.out_w;
        self.for_each_line(|row, y, read, from| {
            let line = &mut columns[row * n + y * self.out_w..][..self.out_w];
            match from {
                Some(from) => {
                    line[..read.start].fill(0.0);
                    line[read.clone()].copy_from_slice(&item[from..from + read.len()]);
                    line[read.end..].fill(0.0);
                }
                None => line.fill(0.0),
            }
        });
    }

    /// The adjoint of [`Im2col::fill`]: adds every entry of `columns` to the input pixel
    /// it was read from (entries read from the padding are dropped), so that `item`
    /// gains the gradient of the input from the gradient of the columns.
    pub fn add_columns(&self, columns: &[f32], item: &mut [f32]) {
        let n = self.out_h * self.out_w;
        self.for_each_line(|row, y, read, from| {
            if let Some(from) = from {
                let line = &columns[row * n + y * self.out_w..][read.clone()];
                for (target, &v) in item[from..from + line.len()].iter_mut().zip(line) {
                    *target += v;
                }
            }
        });
    }

    /// Calls `f(row, y, read, from)` for every output line `y` of every im2col row
    /// (`(c, i, j)`: kernel cell `i, j` of channel `c`): the output columns `read` read
    /// the input (the others read padding), from the item's offset `from` on; `from` is
    /// `None` where the whole line reads padding.
    #[inline(always)]
    fn for_each_line(&self, mut f: impl FnMut(usize, usize, std::ops::Range<usize>, Option<usize>)) {
        let mut row = 0;
        for c in 0..self.channels {
            for i in 0..self.kernel_h {
                for j in 0..self.kernel_w {
                    // Output column x reads input column x + j - left: valid for x in
                    // [left - j, left - j + width), clipped to the output.
                    let x_start = self.left.saturating_sub(j).min(self.out_w);
                    let x_end = (self.left + self.width).saturating_sub(j).min(self.out_w).max(x_start);
                    for y in 0..self.out_h {
                        // An empty read range reads padding only (and its offset could
                        // fall outside the item).
                        let source_y = (y + i).checked_sub(self.top).filter(|&s| s < self.height && x_start < x_end);
                        let from = source_y.map(|sy| (c * self.height + sy) * self.width + x_start + j - self.left);
                        f(row, y, x_start..x_end, from);
                    }
                    row += 1;
                }
            }
        }
    }
}
