//! Lines of a file or pipe, from the core's [`LineBuffer`]: no copy per line, and bounded memory
//! whatever the line lengths.

use std::io::{self, Read};

use enrichment::{LineBuffer, Timestamp};

/// Reads `\n`-terminated lines (the last may lack its `\n`) from `input`; a line over `max_line`
/// bytes is cut as [`LineBuffer`] cuts it.
#[derive(Debug)]
pub struct LineReader<R> {
    input: R,
    lines: LineBuffer,
    at_end_of_input: bool,
    /// When the last read returned, to stamp documents of lines that carry no time.
    read_at: Timestamp,
}

impl<R: Read> LineReader<R> {
    pub fn new(input: R, buffer_size: usize, max_line: usize) -> Self {
        Self {
            input,
            lines: LineBuffer::new(buffer_size, max_line),
            at_end_of_input: false,
            read_at: Timestamp::now(),
        }
    }

    /// The next line without its `\n`, and the time its last bytes were read; `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(&[u8], Timestamp)>> {
        loop {
            if let Some(line) = self.lines.next_line(self.at_end_of_input) {
                return Ok(Some((self.lines.bytes(line), self.read_at)));
            }
            if self.at_end_of_input {
                return Ok(None);
            }
            self.fill()?;
        }
    }

    /// Reads once into the line buffer.
    fn fill(&mut self) -> io::Result<()> {
        let read = loop {
            match self.input.read(self.lines.spare()) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        };
        self.lines.filled(read);
        self.at_end_of_input = read == 0;
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

    /// The splitting itself is the core's (tested there); this is the reading around it.
    #[test]
    fn reads_every_line_through_interrupted_and_short_reads() {
        let data = b"first\nsecond\r\n\n0123456789 too long\nlast";
        for step in [1, 3, 64] {
            let mut reader = LineReader::new(Trickle { data, step, interrupt: false }, 4, 10);
            let mut lines = Vec::new();
            while let Some((line, _)) = reader.next_line().unwrap() {
                lines.push(line.to_vec());
            }
            let expected: Vec<&[u8]> = vec![b"first", b"second\r", b"", b"0123456789 ", b"last"];
            assert_eq!(lines, expected, "step {step}");
        }
    }
}
