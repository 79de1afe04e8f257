//! Stage 2, what the line does not say: the client behind trusted proxies, its anonymized form,
//! its location and network (GeoIP, as cached JSON fragments) and what its user agent is.

mod anonymize;
mod client;
pub(crate) mod crawler;
#[cfg(test)]
mod crawler_patterns;
mod geo;
mod redact;
mod rules;
mod user_agent;

pub use anonymize::{truncate, truncate_addresses_in};
pub use client::TrustedProxies;
pub use crawler::patterns as crawler_patterns;
pub use geo::GeoCache;
pub use redact::{DEFAULT_SECRET_PARAMS, Redaction, Scope};
pub use rules::{Field, LineFields, Scan, ShapingRules, Verdict};
pub use user_agent::{UserAgentFragments, UserAgentParser};
