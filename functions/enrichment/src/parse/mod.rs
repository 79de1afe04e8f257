//! Stage 1, the line: an Apache `LogFormat` or nginx `log_format` compiled once, each line matched against it without
//! copying, Apache's escapes undone, times read, and the request line and URL split; and the
//! servers' error logs.

mod agent_json;
mod alb;
mod cloudfront;
mod error_log;
mod escape;
mod format;
mod line;
mod nginx;
mod request;
mod strftime;
mod time;

pub(crate) use agent_json::{looks_like_json_object, parse_agent_json};
pub(crate) use alb::split_address_port;
pub use alb::{ElbFields, looks_like_alb, parse_alb};
pub use cloudfront::{
    CloudFrontField, CloudFrontFields, STACK_FIELDS, is_cloudfront_header, looks_like_realtime,
    looks_like_standard, parse_cloudfront,
};
pub use error_log::{ErrorLogFormat, ErrorRecord};
pub(crate) use escape::as_logged;
pub(crate) use format::Directive;
pub use format::{COMBINED, COMMON, Escape, FormatError, LogFormat, Server, VHOST_COMBINED};
pub(crate) use line::find_byte_in_short;
pub use line::{AccessRecord, ParseError, Upstream};
pub(crate) use request::{RequestLine, UrlParts, extension, url_host};
pub use time::{Timestamp, UtcDateTime};
