//! What both Lambda functions share around the enrichment core: the events Lambda sends
//! ([`event`]), what a record may hold ([`records`]: plain lines, CloudWatch Logs envelopes,
//! [`kpl`] aggregates), every setting read from the environment in one place ([`settings`]), one
//! invocation summary that yields the INFO and the EMF line ([`invocation_summary!`], [`emf`]),
//! the runtime loop ([`start`], [`run`]) and the allocator's settings for it ([`memory`]).
//!
//! A function is then a [`Handler`]: decode the event, run the core, answer or deliver.

pub mod base64;
pub mod emf;
pub mod event;
pub mod kpl;
pub mod memory;
pub mod records;
mod runtime;
mod runtime_api;
pub mod settings;
mod summary;

pub use runtime::{Error, Handler, init_tracing, run, serve, start};
pub use runtime_api::RuntimeApi;
pub use settings::{DeliverySettings, RetryPolicy, Settings};
pub use summary::InvocationSummary;
#[doc(hidden)]
pub use tracing;
