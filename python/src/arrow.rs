//! Payee lists from Arrow string columns, read in place: the Python side
//! hands each column over as its chunks' buffers, viewed as read-only
//! NumPy `uint8` arrays (no copy), or as one `str` that every row shares;
//! verdicts go back as the buffers of Arrow arrays (a bit-packed `bool`,
//! `uint16` reason bits, `int32` dictionary indices and the dictionary of
//! `|`-joined reason codes).

use std::ops::Range;

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;

use tepat::ReasonCode;
use tepat::verdict::ReasonSet;
use tepat_ffi::batch::{STREAM_CHUNK, verify_stream};
use tepat_ffi::codes::{Failure, tepat_status};

/// One chunk of a column as Python passes it: `(offsets, data, offset,
/// length, validity or None, large)`, the buffers as NumPy `uint8` arrays.
pub(crate) type ChunkArg<'py> = (
    PyReadonlyArray1<'py, u8>,
    PyReadonlyArray1<'py, u8>,
    usize,
    usize,
    Option<PyReadonlyArray1<'py, u8>>,
    bool,
);

/// A column as Python passes it.
#[derive(FromPyObject)]
pub(crate) enum ColumnArg<'py> {
    /// One value for every row.
    Scalar(String),
    /// The chunks of an Arrow `string` or `large_string` column.
    Chunks(Vec<ChunkArg<'py>>),
}

/// One Arrow string array's buffers, readable from any thread.
#[derive(Clone, Copy)]
pub(crate) struct Strings<'a> {
    offsets: &'a [u8],
    data: &'a [u8],
    offset: usize,
    len: usize,
    validity: Option<&'a [u8]>,
    large: bool,
}

impl<'a> Strings<'a> {
    /// Row `i`'s bytes: empty for a null or a row whose offsets do not fit
    /// the buffers (which then reads as an invalid NIK or row).
    #[inline]
    fn get(&self, i: usize) -> &'a [u8] {
        if i >= self.len {
            return &[];
        }
        let j = self.offset + i;
        if let Some(v) = self.validity
            && v.get(j / 8).is_none_or(|b| b >> (j % 8) & 1 == 0)
        {
            return &[];
        }
        match offsets_at(self.offsets, j, self.large) {
            Some((start, end)) => self.data.get(start..end).unwrap_or(&[]),
            None => &[],
        }
    }
}

/// A column's bytes, readable from any thread.
pub(crate) enum Column<'a> {
    /// One value for every row.
    Scalar(&'a [u8]),
    /// Chunks, and the first row of each.
    Chunks {
        chunks: Vec<Strings<'a>>,
        starts: Vec<usize>,
        len: usize,
    },
}

/// A NumPy array's bytes (a view that is not contiguous reads as empty:
/// `np.frombuffer` views always are).
fn bytes_of<'a>(a: &'a PyReadonlyArray1<'_, u8>) -> &'a [u8] {
    a.as_slice().unwrap_or(&[])
}

impl<'a> Column<'a> {
    /// The column's view of the argument.
    pub(crate) fn of(arg: &'a ColumnArg<'_>) -> Column<'a> {
        match arg {
            ColumnArg::Scalar(s) => Column::Scalar(s.as_bytes()),
            ColumnArg::Chunks(args) => {
                let mut chunks = Vec::with_capacity(args.len());
                let mut starts = Vec::with_capacity(args.len());
                let mut len = 0;
                for (offsets, data, offset, n, validity, large) in args {
                    starts.push(len);
                    len += *n;
                    chunks.push(Strings {
                        offsets: bytes_of(offsets),
                        data: bytes_of(data),
                        offset: *offset,
                        len: *n,
                        validity: validity.as_ref().map(bytes_of),
                        large: *large,
                    });
                }
                Column::Chunks {
                    chunks,
                    starts,
                    len,
                }
            }
        }
    }

    /// The number of rows, `None` for a scalar.
    pub(crate) fn len(&self) -> Option<usize> {
        match self {
            Column::Scalar(_) => None,
            Column::Chunks { len, .. } => Some(*len),
        }
    }

    /// The rows in `range`, in order.
    pub(crate) fn rows(&self, range: Range<usize>) -> ColumnRows<'_, 'a> {
        let chunk = match self {
            Column::Scalar(_) => 0,
            Column::Chunks { starts, .. } => {
                starts.partition_point(|s| *s <= range.start).max(1) - 1
            }
        };
        ColumnRows {
            column: self,
            chunk,
            row: range.start,
            end: range.end,
        }
    }
}

/// The rows of a range of a column.
pub(crate) struct ColumnRows<'c, 'a> {
    column: &'c Column<'a>,
    chunk: usize,
    row: usize,
    end: usize,
}

impl<'a> Iterator for ColumnRows<'_, 'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.row >= self.end {
            return None;
        }
        let i = self.row;
        self.row += 1;
        match self.column {
            Column::Scalar(s) => Some(s),
            Column::Chunks { chunks, starts, .. } => loop {
                let (c, first) = (chunks.get(self.chunk)?, starts.get(self.chunk)?);
                if i < first + c.len {
                    return Some(c.get(i - first));
                }
                self.chunk += 1;
            },
        }
    }
}

/// Entries `j` and `j + 1` of an Arrow offsets buffer (little-endian
/// `int32`, or `int64` for `large_string`): where row `j` starts and ends.
#[inline]
fn offsets_at(offsets: &[u8], j: usize, large: bool) -> Option<(usize, usize)> {
    if large {
        let b: &[u8; 16] = offsets.get(j * 8..j * 8 + 16)?.try_into().ok()?;
        let (s, e) = b.split_at(8);
        let start = i64::from_le_bytes(s.try_into().ok()?);
        let end = i64::from_le_bytes(e.try_into().ok()?);
        Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
    } else {
        let b: &[u8; 8] = offsets.get(j * 4..j * 4 + 8)?.try_into().ok()?;
        let (s, e) = b.split_at(4);
        let start = i32::from_le_bytes(s.try_into().ok()?);
        let end = i32::from_le_bytes(e.try_into().ok()?);
        Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
    }
}

/// Verdicts as the buffers of Arrow arrays.
pub(crate) struct Verified {
    /// `payable`: bit-packed, least significant bit first.
    pub(crate) payable: Vec<u8>,
    /// The reason bits of each row.
    pub(crate) bits: Vec<u16>,
    /// Each row's index into `dictionary`.
    pub(crate) index: Vec<i32>,
    /// The distinct reason sets, `|`-joined codes (`""` for none), in the
    /// order of their bits.
    pub(crate) dictionary: Vec<String>,
}

/// Reason sets a verdict can have.
const SETS: usize = 1 << ReasonCode::ALL.len();

/// Verifies `rows` rows of three columns on `threads` threads (0: all
/// cores), each thread streaming through its part of the list (parse and
/// verify a chunk at a time, the reason bits written straight into the
/// output); a second pass makes `payable` (no blocking reason: the
/// verdict's own rule) and the dictionary indices from the bits.
pub(crate) fn verify(
    store: &tepat::Store,
    columns: [&Column<'_>; 3],
    rows: usize,
    threads: usize,
) -> Result<Verified, Failure> {
    let registry = store.registry();
    let blocking = tepat_ffi::convert::blocking_mask(&registry) as u16;
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |t| t.get()),
        t => t,
    }
    .clamp(1, rows.div_ceil(STREAM_CHUNK).max(1));
    // Parts start at a multiple of 8 rows: each owns whole bytes of the
    // payable bitmap.
    let per = rows.div_ceil(threads).next_multiple_of(8).max(8);
    let mut bits = vec![0u16; rows];
    let [nik, program, period] = columns;
    let registry = &registry;
    std::thread::scope(|s| {
        let parts: Vec<_> = bits
            .chunks_mut(per)
            .enumerate()
            .map(|(t, bit)| {
                s.spawn(move || {
                    let range = t * per..t * per + bit.len();
                    let text = nik
                        .rows(range.clone())
                        .zip(program.rows(range.clone()))
                        .zip(period.rows(range))
                        .map(|((n, p), q)| (n, p, q));
                    verify_stream(store, registry, text, |k, verdicts| {
                        if let Some(out) = bit.get_mut(k..k + verdicts.len()) {
                            for (o, v) in out.iter_mut().zip(verdicts) {
                                *o = v.reasons.0;
                            }
                        }
                    })
                })
            })
            .collect();
        for part in parts {
            part.join().map_err(|_| {
                Failure::new(tepat_status::TEPAT_E_PANIC, "a verifying thread panicked")
            })??;
        }
        Ok::<_, Failure>(())
    })?;
    let (payable, index, dictionary) = columns_of(&bits, blocking, per);
    Ok(Verified {
        payable,
        bits,
        index,
        dictionary,
    })
}

/// From the reason bits, on one thread per `per` rows (a multiple of 8):
/// the payable bitmap, each row's index into the dictionary, and the
/// dictionary of the reason sets that occur, in the order of their bits.
fn columns_of(bits: &[u16], blocking: u16, per: usize) -> (Vec<u8>, Vec<i32>, Vec<String>) {
    let mut payable = vec![0u8; bits.len().div_ceil(8)];
    let mut index = vec![0i32; bits.len()];
    // Pass 1: which sets occur, and payable.
    let seen = std::thread::scope(|s| {
        let parts: Vec<_> = payable
            .chunks_mut(per / 8)
            .zip(bits.chunks(per))
            .map(|(pay, bits)| {
                s.spawn(move || {
                    let mut seen = vec![false; SETS];
                    for (byte, bits) in pay.iter_mut().zip(bits.chunks(8)) {
                        for (k, b) in bits.iter().enumerate() {
                            *byte |= u8::from(b & blocking == 0) << k;
                            if let Some(s) = seen.get_mut(usize::from(*b)) {
                                *s = true;
                            }
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut seen = vec![false; SETS];
        for part in parts {
            for (s, p) in seen.iter_mut().zip(part.join().unwrap_or_default()) {
                *s |= p;
            }
        }
        seen
    });
    let mut slot = vec![0i32; SETS];
    let mut dictionary = Vec::new();
    for (set, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
        if let Some(e) = slot.get_mut(set) {
            *e = dictionary.len() as i32;
        }
        dictionary.push(ReasonSet(set as u16).join());
    }
    // Pass 2: the indices.
    let slot = &slot;
    std::thread::scope(|s| {
        for (out, bits) in index.chunks_mut(per).zip(bits.chunks(per)) {
            s.spawn(move || {
                for (o, b) in out.iter_mut().zip(bits) {
                    *o = slot.get(usize::from(*b)).copied().unwrap_or(0);
                }
            });
        }
    });
    (payable, index, dictionary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_nulls_and_chunks() {
        // "ab", null, "", "xyz" at offset 1 of a five-row array, then a
        // second chunk "q".
        let offsets: Vec<u8> = [0i32, 1, 3, 3, 3, 6]
            .iter()
            .flat_map(|o| o.to_le_bytes())
            .collect();
        let first = Strings {
            offsets: &offsets,
            data: b"_abxyz",
            offset: 1,
            len: 4,
            validity: Some(&[0b1_1010]),
            large: false,
        };
        let large: Vec<u8> = [0i64, 1].iter().flat_map(|o| o.to_le_bytes()).collect();
        let second = Strings {
            offsets: &large,
            data: b"q",
            offset: 0,
            len: 1,
            validity: None,
            large: true,
        };
        let c = Column::Chunks {
            chunks: vec![first, second],
            starts: vec![0, 4],
            len: 5,
        };
        let all: Vec<&[u8]> = c.rows(0..5).collect();
        assert_eq!(all, vec![&b"ab"[..], b"", b"", b"xyz", b"q"]);
        let tail: Vec<&[u8]> = c.rows(3..5).collect();
        assert_eq!(tail, vec![&b"xyz"[..], b"q"]);
        assert_eq!(c.rows(4..5).collect::<Vec<_>>(), vec![&b"q"[..]]);
        assert_eq!(first.get(4), b"");
        let s = Column::Scalar(b"PKH");
        assert_eq!(s.rows(7..9).collect::<Vec<_>>(), vec![&b"PKH"[..], b"PKH"]);
    }

    #[test]
    fn payable_and_dictionary_from_the_bits() {
        // not_enrolled (bit 4) blocks, not_eligible (bit 5) warns.
        let bits = [16, 0, 16 | 32, 32, 0, 0, 0, 0, 16];
        let (payable, index, dictionary) = columns_of(&bits, 16, 8);
        assert_eq!(payable, vec![0b1111_1010, 0]);
        assert_eq!(
            dictionary,
            vec![
                "".to_owned(),
                "not_enrolled".to_owned(),
                "not_eligible".to_owned(),
                "not_enrolled|not_eligible".to_owned()
            ]
        );
        assert_eq!(index, vec![1, 0, 3, 2, 0, 0, 0, 0, 1]);
    }
}
