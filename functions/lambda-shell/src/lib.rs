//! What every Lambda function shares around the enrichment core: the one start-up path
//! ([`start`]: settings, databases, metrics target), the runtime loop ([`run`], [`serve`]) and the
//! allocator's settings for it ([`memory`]), what a record may hold ([`records`]: plain lines,
//! CloudWatch Logs envelopes, [`kpl`] aggregates), the settings every function reads
//! ([`settings`]) and one invocation summary that yields the INFO and the EMF line
//! ([`invocation_summary!`], [`emf`]).
//!
//! A function is then a [`Handler`]: decode the event, run the core, answer or deliver.

pub mod base64;
pub mod emf;
pub mod freshness;
pub mod kpl;
pub mod memory;
pub mod records;
mod runtime;
mod runtime_api;
pub mod settings;
mod startup;
mod summary;

pub use runtime::{Error, Handler, init_tracing, run, serve};
pub use runtime_api::RuntimeApi;
pub use startup::{Function, Startup, StartupError, start, start_with};
pub use summary::InvocationSummary;
#[doc(hidden)]
pub use tracing;
