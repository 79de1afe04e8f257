//! Kinesis Producer Library (KPL) aggregated records, taken apart.
//!
//! The KPL packs many user records into one Kinesis record: the magic bytes `F3 89 9A C2`, a
//! protobuf `AggregatedRecord`, and the MD5 of that protobuf. A record whose magic or MD5 does
//! not match, or whose protobuf does not decode, is not an aggregate: it is plain data, as the
//! official de-aggregators treat it. No Rust crate does this; `prost` (protobuf) and `md-5` do
//! the hard parts.

use md5::{Digest, Md5};
use prost::Message;

pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// `kpl_agg.proto`'s `AggregatedRecord`.
#[derive(Clone, PartialEq, Message)]
pub struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    pub partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    pub records: Vec<UserRecord>,
}

/// `kpl_agg.proto`'s `Record`: one user record inside an aggregate.
#[derive(Clone, PartialEq, Message)]
pub struct UserRecord {
    #[prost(uint64, required, tag = "1")]
    pub partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    pub explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", required, tag = "3")]
    pub data: Vec<u8>,
    #[prost(message, repeated, tag = "4")]
    pub tags: Vec<Tag>,
}

/// `kpl_agg.proto`'s `Tag`.
#[derive(Clone, PartialEq, Message)]
pub struct Tag {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// The user records' data, in order, if `data` is a valid KPL aggregate; `None` if it is plain data.
pub fn deaggregate(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let body = data.strip_prefix(&MAGIC)?;
    let protobuf_len = body.len().checked_sub(DIGEST_LEN)?;
    let (protobuf, digest) = body.split_at(protobuf_len);
    if Md5::digest(protobuf).as_slice() != digest {
        return None;
    }
    let aggregate = AggregatedRecord::decode(protobuf).ok()?;
    Some(aggregate.records.into_iter().map(|record| record.data).collect())
}

/// Packs `records` the way the KPL does (for tests and fixtures).
pub fn aggregate(partition_key: &str, records: &[&[u8]]) -> Vec<u8> {
    let protobuf = AggregatedRecord {
        partition_key_table: vec![partition_key.to_owned()],
        explicit_hash_key_table: Vec::new(),
        records: records
            .iter()
            .map(|data| UserRecord {
                partition_key_index: 0,
                explicit_hash_key_index: None,
                data: data.to_vec(),
                tags: Vec::new(),
            })
            .collect(),
    }
    .encode_to_vec();
    let mut out = Vec::with_capacity(MAGIC.len() + protobuf.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&protobuf);
    out.extend_from_slice(&Md5::digest(&protobuf));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let records: [&[u8]; 3] = [b"line one\n", b"line two\nline three\n", b""];
        let aggregate = aggregate("pk-1", &records);
        assert_eq!(aggregate[..4], MAGIC);
        assert_eq!(deaggregate(&aggregate).unwrap(), records.map(<[u8]>::to_vec));
    }

    #[test]
    fn anything_else_is_plain_data() {
        let good = aggregate("pk", &[b"a", b"b"]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("plain text", b"81.2.69.142 - - [21/Nov/2026:06:45:50 +0100] \"GET / HTTP/1.1\" 200 5".to_vec()),
            ("empty", Vec::new()),
            ("magic only", MAGIC.to_vec()),
            ("shorter than a digest", [&MAGIC[..], b"abc"].concat()),
            ("wrong magic", [&[0xF3, 0x89, 0x9A, 0xC3][..], &good[4..]].concat()),
            ("wrong md5", {
                let mut bad = good.clone();
                let last = bad.len() - 1;
                bad[last] ^= 1;
                bad
            }),
            ("truncated", good[..good.len() - 3].to_vec()),
        ];
        for (name, data) in cases {
            assert_eq!(deaggregate(&data), None, "{name}");
        }
    }

    #[test]
    fn truncated_protobuf_with_a_matching_md5_is_plain_data() {
        let good = aggregate("pk", &[b"some data here"]);
        let protobuf = &good[4..good.len() - DIGEST_LEN];
        let cut = &protobuf[..protobuf.len() - 4];
        let forged = [&MAGIC[..], cut, &Md5::digest(cut)[..]].concat();
        assert_eq!(deaggregate(&forged), None);
    }
}
