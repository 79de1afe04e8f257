//! Lines of a stream of bytes, handed out straight from one read buffer: no copy per line, and
//! bounded memory whatever the line lengths. The buffer does no input itself, so a blocking reader
//! (`enrich-logs` over files and pipes) and an asynchronous one (an S3 object's body) fill it the
//! same way and split lines the same way.

/// Where one line (without its `\n`) is in the buffer, until the next read: its bytes are
/// [`LineBuffer::bytes`]. (A span rather than a slice lets a reader take a line or, when there is
/// none yet, read more, in one loop.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpan {
    start: usize,
    end: usize,
    /// Where the line starts in the stream (bytes from the stream's first byte).
    pub offset: u64,
}

/// Splits `\n`-terminated lines (the last may lack its `\n`).
///
/// A line longer than `max_line` bytes comes back cut to its first `max_line + 1` bytes, so the
/// caller sees that it was over the limit, and the rest of it is skipped. The buffer grows only
/// while one line fills it, so it never exceeds about twice `max_line`.
///
/// Use: take lines with [`next_line`](Self::next_line) (their bytes from [`bytes`](Self::bytes)) until it returns `None`, then read into
/// [`spare`](Self::spare) and report the bytes read with [`filled`](Self::filled); at the end of
/// the input, [`next_line`](Self::next_line)`(true)` hands out what is left.
#[derive(Debug)]
pub struct LineBuffer {
    buffer: Vec<u8>,
    /// The unread bytes are `buffer[start..end]`.
    start: usize,
    end: usize,
    max_line: usize,
    /// The rest of a cut line is still to be skipped.
    skipping: bool,
    /// Where the line being cut starts in the stream (while `skipping`).
    cut_line_offset: u64,
    /// Where `buffer[0]` is in the stream.
    base: u64,
}

impl LineBuffer {
    pub fn new(buffer_size: usize, max_line: usize) -> Self {
        Self {
            buffer: vec![0; buffer_size.max(1)],
            start: 0,
            end: 0,
            max_line,
            skipping: false,
            cut_line_offset: 0,
            base: 0,
        }
    }

    /// A buffer whose first byte is at `offset` in the stream (reading resumes there).
    pub fn starting_at(mut self, offset: u64) -> Self {
        self.base = offset;
        self
    }

    /// The next line, or `None` when more input is needed; with `at_end` (no more input will come)
    /// the unterminated rest is the last line, and `None` means there is nothing left.
    pub fn next_line(&mut self, at_end: bool) -> Option<LineSpan> {
        loop {
            let unread = &self.buffer[self.start..self.end];
            if let Some(newline) = memchr::memchr(b'\n', unread) {
                let line_start = self.start;
                self.start += newline + 1;
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                return Some(self.line(line_start, line_start + newline));
            }
            if self.skipping {
                self.start = self.end;
                return None;
            }
            if unread.len() > self.max_line {
                let line_start = self.start;
                self.start = self.end;
                self.skipping = true;
                self.cut_line_offset = self.base + line_start as u64;
                return Some(self.line(line_start, line_start + self.max_line + 1));
            }
            if at_end && self.start < self.end {
                let line_start = std::mem::replace(&mut self.start, self.end);
                return Some(self.line(line_start, self.end));
            }
            return None;
        }
    }

    fn line(&self, start: usize, end: usize) -> LineSpan {
        LineSpan { start, end, offset: self.base + start as u64 }
    }

    /// The bytes of a line just handed out (before the next read).
    pub fn bytes(&self, line: LineSpan) -> &[u8] {
        &self.buffer[line.start..line.end]
    }

    /// Room for the next read: the partial line moved to the front, the buffer doubled if that
    /// line fills it.
    pub fn spare(&mut self) -> &mut [u8] {
        self.buffer.copy_within(self.start..self.end, 0);
        self.base += self.start as u64;
        self.end -= self.start;
        self.start = 0;
        if self.end == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        &mut self.buffer[self.end..]
    }

    /// `read` bytes were written to the start of [`spare`](Self::spare).
    pub fn filled(&mut self, read: usize) {
        self.end = (self.end + read).min(self.buffer.len());
    }

    /// Where the next line starts in the stream, if that is known: not while the rest of a cut
    /// line is still being skipped.
    pub fn next_line_offset(&self) -> Option<u64> {
        (!self.skipping).then_some(self.base + self.start as u64)
    }

    /// Where reading must start again so that no line is missed: the next line, or, while the
    /// rest of a cut line is being skipped, that line (handed out once already).
    pub fn resume_offset(&self) -> u64 {
        self.next_line_offset().unwrap_or(self.cut_line_offset)
    }

    /// The bytes read and not handed out yet (to look at the start of a stream).
    pub fn unread(&self) -> &[u8] {
        &self.buffer[self.start..self.end]
    }

    /// The buffer's size (it grows only for a line longer than it).
    pub fn capacity(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `data` and its offset, fed `step` bytes at a time.
    fn lines(data: &[u8], step: usize, buffer_size: usize, max_line: usize) -> (Vec<(Vec<u8>, u64)>, usize) {
        let mut buffer = LineBuffer::new(buffer_size, max_line);
        let mut rest = data;
        let mut lines = Vec::new();
        loop {
            let at_end = rest.is_empty();
            while let Some(line) = buffer.next_line(at_end) {
                lines.push((buffer.bytes(line).to_vec(), line.offset));
            }
            if at_end {
                return (lines, buffer.capacity());
            }
            let spare = buffer.spare();
            let n = step.min(spare.len()).min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            buffer.filled(n);
            rest = &rest[n..];
        }
    }

    fn bytes_only(lines: Vec<(Vec<u8>, u64)>) -> Vec<Vec<u8>> {
        lines.into_iter().map(|(bytes, _)| bytes).collect()
    }

    #[test]
    fn splits_lines_across_reads_of_any_size_with_their_offsets() {
        let data = b"first\nsecond line\r\n\nlast without newline";
        let expected: Vec<(Vec<u8>, u64)> = vec![
            (b"first".to_vec(), 0),
            (b"second line\r".to_vec(), 6),
            (b"".to_vec(), 19),
            (b"last without newline".to_vec(), 20),
        ];
        for step in [1, 2, 3, 7, 64] {
            for buffer_size in [1, 4, 16, 1024] {
                let (got, _) = lines(data, step, buffer_size, 100);
                assert_eq!(got, expected, "step {step}, buffer {buffer_size}");
            }
        }
    }

    #[test]
    fn empty_input_has_no_lines_and_a_final_newline_adds_none() {
        assert!(lines(b"", 4, 16, 100).0.is_empty());
        assert_eq!(bytes_only(lines(b"a\n", 4, 16, 100).0), vec![b"a".to_vec()]);
    }

    #[test]
    fn long_lines_are_cut_one_byte_over_the_limit_and_their_rest_skipped() {
        let long = vec![b'x'; 1000];
        let mut data = b"short\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\nafter\n");
        data.extend_from_slice(&long);
        for step in [1, 5, 4096] {
            let (got, capacity) = lines(&data, step, 8, 10);
            assert_eq!(
                got,
                vec![
                    (b"short".to_vec(), 0),
                    (vec![b'x'; 11], 6),
                    (b"after".to_vec(), 1007),
                    (vec![b'x'; 11], 1013)
                ],
                "step {step}"
            );
            assert!(capacity <= 2 * 11, "buffer grew to {capacity} bytes");
        }
    }

    #[test]
    fn a_line_exactly_at_the_limit_is_whole() {
        let (got, _) = lines(b"0123456789\n0123456789", 3, 4, 10);
        assert_eq!(bytes_only(got), vec![b"0123456789".to_vec(), b"0123456789".to_vec()]);
    }

    #[test]
    fn the_next_line_offset_is_known_except_inside_a_cut_line() {
        let mut buffer = LineBuffer::new(64, 4).starting_at(100);
        let spare = buffer.spare();
        spare[..12].copy_from_slice(b"ab\nlonglong\n");
        buffer.filled(12);
        assert_eq!(buffer.next_line(false).map(|line| line.offset), Some(100));
        assert_eq!(buffer.next_line_offset(), Some(103));
        // "longlong" is cut: its rest is skipped, then the next line starts after it.
        let mut buffer = LineBuffer::new(4, 4);
        buffer.spare()[..4].copy_from_slice(b"long");
        buffer.filled(4);
        assert_eq!(buffer.next_line(false), None);
        let spare = buffer.spare();
        spare[..4].copy_from_slice(b"long");
        buffer.filled(4);
        assert_eq!(buffer.next_line(false).map(|line| buffer.bytes(line).len()), Some(5));
        assert_eq!(buffer.next_line_offset(), None);
        assert_eq!(buffer.resume_offset(), 0, "inside the cut line: from its start");
        buffer.spare()[..3].copy_from_slice(b"g\nx");
        buffer.filled(3);
        assert_eq!(buffer.next_line(false), None);
        assert_eq!(buffer.next_line_offset(), Some(10));
        assert_eq!(buffer.resume_offset(), 10);
    }
}
