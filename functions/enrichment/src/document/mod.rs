//! Stage 3, the output: the ECS schema (every field name once), a streaming JSON object writer,
//! and the documents written with them.

mod added;
mod json;
pub mod schema;
mod writer;

pub use added::{ADDABLE_FIELDS, AddedFields, CloudOrigin};
pub(crate) use json::ObjectWriter;
pub use json::{Key, json_string_len, write_json_string};
pub(crate) use writer::{
    AwsFields, Dataset, Enrichment, SourceFields, Tags, write_access_document, write_error_document,
    write_failure_document, write_oversized_document,
};
pub use writer::{EventContext, LogOrigin};
