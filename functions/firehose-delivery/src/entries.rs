//! The entries of one batch in one buffer: each a document and its newline, one after the other,
//! so a batch costs one growing allocation rather than one per document.

/// Documents written one after the other, each ended by [`end_entry`](Self::end_entry).
#[derive(Debug, Default)]
pub struct EntryBuffer {
    documents: Vec<u8>,
    /// Where each entry ends in `documents`.
    ends: Vec<usize>,
}

impl EntryBuffer {
    pub fn with_capacity(bytes: usize) -> Self {
        Self { documents: Vec::with_capacity(bytes), ends: Vec::new() }
    }

    /// Where the next document is written.
    pub fn documents_mut(&mut self) -> &mut Vec<u8> {
        &mut self.documents
    }

    /// Ends the entry whose document was just written: its newline, and where it ends.
    pub fn end_entry(&mut self) {
        self.documents.push(b'\n');
        self.ends.push(self.documents.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Empties the buffer, keeping its memory for the next batch.
    pub fn clear(&mut self) {
        self.documents.clear();
        self.ends.clear();
    }

    /// The entries, in order.
    pub fn entries(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let entry = &self.documents[start..end];
                start = end;
                entry
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_as_written_with_their_newlines() {
        let mut buffer = EntryBuffer::with_capacity(16);
        for document in [&b"{\"a\":1}"[..], b"", b"{}"] {
            buffer.documents_mut().extend_from_slice(document);
            buffer.end_entry();
        }
        assert_eq!(buffer.entries(), [&b"{\"a\":1}\n"[..], b"\n", b"{}\n"]);
        assert_eq!(buffer.len(), 3);
        buffer.clear();
        assert!(buffer.is_empty() && buffer.entries().is_empty());
    }
}
