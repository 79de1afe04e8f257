//! The entries of one batch in one buffer: each a document and its newline, one after the other,
//! so a batch costs one growing allocation rather than one per document. For OpenSearch's `_bulk`
//! an entry starts with its action line, `{"create":{"_index":"weblogs-2026-11-21","_id":"…"}}`:
//! the entries, one after the other, are the request body.

use std::fmt::Write as _;

use enrichment::{Timestamp, write_json_string};

/// How each entry is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryFormat {
    /// The document alone (a Firehose record).
    Document,
    /// A `_bulk` `create` action, then the document: the index named `<prefix>-YYYY-MM-DD` by the
    /// document's time, the id given.
    BulkCreate { index_prefix: String },
}

/// Where an entry begun with [`EntryBuffer::begin_entry`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryStart {
    start: usize,
    /// Where the index name's date (`YYYY-MM-DD`) is, to be written once the time is known.
    date_at: Option<usize>,
}

/// Stands for the index name's date until the document's time is known: as long as any date.
const DATE_PLACEHOLDER: &[u8] = b"0000-00-00";

/// Documents written one after the other, each ended by [`end_entry`](Self::end_entry).
#[derive(Debug, Default)]
pub struct EntryBuffer {
    documents: Vec<u8>,
    /// Where each entry ends in `documents`.
    ends: Vec<usize>,
    /// An id being formatted.
    id: String,
    /// A document's time being formatted.
    time: Vec<u8>,
}

impl EntryBuffer {
    pub fn with_capacity(bytes: usize) -> Self {
        Self { documents: Vec::with_capacity(bytes), ends: Vec::new(), id: String::new(), time: Vec::new() }
    }

    /// Starts an entry: for `_bulk`, its action line with the id `id` displays; then the document
    /// is written to [`documents_mut`](Self::documents_mut), and the entry ended with
    /// [`end_dated_entry`](Self::end_dated_entry) or dropped with [`abandon`](Self::abandon).
    pub fn begin_entry(&mut self, format: &EntryFormat, id: std::fmt::Arguments<'_>) -> EntryStart {
        let start = self.documents.len();
        let EntryFormat::BulkCreate { index_prefix } = format else {
            return EntryStart { start, date_at: None };
        };
        self.id.clear();
        let _infallible = self.id.write_fmt(id);
        self.documents.extend_from_slice(br#"{"create":{"_index":""#);
        self.documents.extend_from_slice(index_prefix.as_bytes());
        self.documents.push(b'-');
        let date_at = self.documents.len();
        self.documents.extend_from_slice(DATE_PLACEHOLDER);
        self.documents.extend_from_slice(br#"","_id":"#);
        write_json_string(&mut self.documents, &self.id);
        self.documents.extend_from_slice(b"}}\n");
        EntryStart { start, date_at: Some(date_at) }
    }

    /// Ends the entry begun at `start`: its index named by `time`, the document's newline.
    pub fn end_dated_entry(&mut self, start: EntryStart, time: Timestamp) {
        if let Some(date_at) = start.date_at {
            // The day of the document's `@timestamp`, as the document writes it (and has just
            // written it: the formatter's last text is reused).
            self.time.clear();
            time.write_rfc3339(&mut self.time);
            let date = &self.time[..DATE_PLACEHOLDER.len()];
            self.documents[date_at..date_at + DATE_PLACEHOLDER.len()].copy_from_slice(date);
        }
        self.end_entry();
    }

    /// Drops what was written since `start` (a line that gave no document).
    pub fn abandon(&mut self, start: EntryStart) {
        self.documents.truncate(start.start);
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

    #[test]
    fn a_bulk_entry_is_its_action_line_then_its_document() {
        let format = EntryFormat::BulkCreate { index_prefix: "weblogs".into() };
        let mut buffer = EntryBuffer::with_capacity(16);
        let time = Timestamp::from_unix_millis(1_763_701_236_000).unwrap(); // 2025-11-21T05:00:36Z
        let start = buffer.begin_entry(&format, format_args!("shardId-000000000001:4959:{}", 0));
        buffer.documents_mut().extend_from_slice(b"{\"a\":1}");
        buffer.end_dated_entry(start, time);
        let start = buffer.begin_entry(&format, format_args!("{}", "dropped"));
        buffer.abandon(start);
        let start = buffer.begin_entry(&format, format_args!("s3://b/key \"{}\"", 7));
        buffer.documents_mut().extend_from_slice(b"{}");
        buffer.end_dated_entry(start, Timestamp::from_unix_millis(0).unwrap());
        assert_eq!(
            buffer.entries(),
            [
                &b"{\"create\":{\"_index\":\"weblogs-2025-11-21\",\"_id\":\"shardId-000000000001:4959:0\"}}\n{\"a\":1}\n"[..],
                b"{\"create\":{\"_index\":\"weblogs-1970-01-01\",\"_id\":\"s3://b/key \\\"7\\\"\"}}\n{}\n",
            ]
        );
        // As a document, the bare format writes no action and ignores the time.
        let mut bare = EntryBuffer::with_capacity(16);
        let start = bare.begin_entry(&EntryFormat::Document, format_args!("ignored"));
        bare.documents_mut().extend_from_slice(b"{}");
        bare.end_dated_entry(start, time);
        assert_eq!(bare.entries(), [b"{}\n"]);
    }
}
