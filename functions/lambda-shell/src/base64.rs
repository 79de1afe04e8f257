//! Base64 as the events carry it (standard alphabet, padded), in and out of reused buffers.
//!
//! Every record's data is base64 in the event, and every document is base64 again in
//! PutRecordBatch bodies and transformation responses: megabytes per invocation. `base64-simd`
//! (the AWS SDK's own choice, already in kinesis-enricher) does that several times faster than
//! the `base64` crate. Where it refuses the input, the `base64` crate decides, so what is accepted
//! and the error messages in `_parse_failure` documents stay exactly the `base64` crate's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub use base64::DecodeError;

/// Appends the bytes `text` encodes to `out`.
pub fn decode_append(text: &str, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let start = out.len();
    if base64_simd::STANDARD.decode_append(text, out).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    STANDARD.decode_vec(text, out)
}

/// Appends the base64 text of `data` to `out`.
pub fn encode_append(data: &[u8], out: &mut Vec<u8>) {
    base64_simd::STANDARD.encode_append(data, out);
}

/// The length of the base64 text of `len` bytes.
pub fn encoded_len(len: usize) -> usize {
    base64_simd::STANDARD.encoded_length(len)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The same bytes out, and the same verdict, as the `base64` crate alone, on base64 text
        /// and on near-base64 junk (bad padding, non-canonical trailing bits, stray characters).
        #[test]
        fn decodes_as_the_base64_crate_does(text in "[A-Za-z0-9+/=]{0,40}|[A-Za-z0-9+/= %\\n-]{0,12}", data in proptest::collection::vec(any::<u8>(), 0..100)) {
            for text in [text, STANDARD.encode(&data)] {
                let mut ours = b"kept".to_vec();
                let verdict = decode_append(&text, &mut ours).map_err(|error| error.to_string());
                let mut theirs = b"kept".to_vec();
                let expected = STANDARD.decode_vec(&text, &mut theirs).map_err(|error| error.to_string());
                prop_assert_eq!(&verdict, &expected, "{:?}", text);
                if verdict.is_ok() {
                    prop_assert_eq!(&ours, &theirs);
                }
            }
        }

        #[test]
        fn encodes_as_the_base64_crate_does(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut ours = b"kept".to_vec();
            encode_append(&data, &mut ours);
            prop_assert_eq!(ours.len(), 4 + encoded_len(data.len()));
            let theirs = STANDARD.encode(&data);
            prop_assert_eq!(&ours[4..], theirs.as_bytes());
        }
    }
}
