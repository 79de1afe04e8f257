//! Lines handed out straight from one large read buffer: no copy per line, and bounded memory
//! whatever the line lengths (for `enrich-logs` over files and pipes).

use std::io::{self, Read};

use enrichment::Timestamp;

/// Reads `\n`-terminated lines (the last may lack its `\n`) from `input`.
///
/// A line longer than `max_line` bytes comes back cut to its first `max_line + 1` bytes, so the
/// caller sees that it was over the limit, and the rest of it is skipped. The buffer grows only
/// while one line fills it, so it never exceeds about twice `max_line`.
#[derive(Debug)]
pub struct LineReader<R> {
    input: R,
    buffer: Vec<u8>,
    /// The unread bytes are `buffer[start..end]`.
    start: usize,
    end: usize,
    max_line: usize,
    /// The rest of a cut line is still to be skipped.
    skipping: bool,
    at_end_of_input: bool,
    /// When the last read returned, to stamp documents of lines that carry no time.
    read_at: Timestamp,
}

impl<R: Read> LineReader<R> {
    pub fn new(input: R, buffer_size: usize, max_line: usize) -> Self {
        Self {
            input,
            buffer: vec![0; buffer_size.max(1)],
            start: 0,
            end: 0,
            max_line,
            skipping: false,
            at_end_of_input: false,
            read_at: Timestamp::now(),
        }
    }

    /// The next line without its `\n`, and the time its last bytes were read; `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(&[u8], Timestamp)>> {
        loop {
            let unread = &self.buffer[self.start..self.end];
            if let Some(newline) = memchr::memchr(b'\n', unread) {
                let line_start = self.start;
                self.start += newline + 1;
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                return Ok(Some((&self.buffer[line_start..line_start + newline], self.read_at)));
            }
            if self.skipping {
                self.start = self.end;
                if self.at_end_of_input {
                    return Ok(None);
                }
            } else if unread.len() > self.max_line {
                let line_start = self.start;
                self.start = self.end;
                self.skipping = true;
                return Ok(Some((&self.buffer[line_start..=line_start + self.max_line], self.read_at)));
            } else if self.at_end_of_input {
                if self.start == self.end {
                    return Ok(None);
                }
                let line_start = std::mem::replace(&mut self.start, self.end);
                return Ok(Some((&self.buffer[line_start..self.end], self.read_at)));
            }
            self.fill()?;
        }
    }

    /// Moves the partial line to the front, doubles the buffer if that line fills it, and reads.
    fn fill(&mut self) -> io::Result<()> {
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        let read = loop {
            match self.input.read(&mut self.buffer[self.end..]) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        };
        self.at_end_of_input = read == 0;
        self.end += read;
        self.read_at = Timestamp::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `step` bytes per read, and an `Interrupted` error before every other read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn lines(data: &[u8], step: usize, buffer_size: usize, max_line: usize) -> (Vec<Vec<u8>>, usize) {
        let mut reader = LineReader::new(Trickle { data, step, interrupt: false }, buffer_size, max_line);
        let mut lines = Vec::new();
        while let Some((line, _)) = reader.next_line().unwrap() {
            lines.push(line.to_vec());
        }
        (lines, reader.buffer.len())
    }

    #[test]
    fn splits_lines_across_reads_of_any_size() {
        let data = b"first\nsecond line\r\n\nlast without newline";
        let expected: Vec<&[u8]> = vec![b"first", b"second line\r", b"", b"last without newline"];
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
        assert_eq!(lines(b"a\n", 4, 16, 100).0, vec![b"a".to_vec()]);
    }

    #[test]
    fn long_lines_are_cut_one_byte_over_the_limit_and_their_rest_skipped() {
        let long = vec![b'x'; 1000];
        let mut data = b"short\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\nafter\n");
        data.extend_from_slice(&long);
        for step in [1, 5, 4096] {
            let (got, buffer_len) = lines(&data, step, 8, 10);
            assert_eq!(
                got,
                vec![b"short".to_vec(), vec![b'x'; 11], b"after".to_vec(), vec![b'x'; 11]],
                "step {step}"
            );
            assert!(buffer_len <= 2 * 11, "buffer grew to {buffer_len} bytes");
        }
    }

    #[test]
    fn a_line_exactly_at_the_limit_is_whole() {
        let (got, _) = lines(b"0123456789\n0123456789", 3, 4, 10);
        assert_eq!(got, vec![b"0123456789".to_vec(), b"0123456789".to_vec()]);
    }
}
