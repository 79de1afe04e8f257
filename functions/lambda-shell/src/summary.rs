//! One invocation's summary: a single list of counters that gives both the INFO log line and the
//! EMF metrics line, so a counter is named once.

use crate::emf::Unit;

/// What a handler reports after each invocation; made by [`invocation_summary!`](crate::invocation_summary).
pub trait InvocationSummary {
    /// The INFO line: every counter by its field name, and `duration_ms`.
    fn log(&self, duration_ms: f64);
    /// The EMF metrics: the counters that are metrics, by their metric name, then `Duration`.
    fn metrics(&self, duration_ms: f64) -> Vec<(&'static str, f64, Unit)>;
}

/// Declares an invocation summary: a struct of `u64` counters, each logged by its field name and,
/// with `=> "MetricName": Unit`, also sent as an EMF metric.
///
/// ```
/// lambda_shell::invocation_summary! {
///     /// What one invocation did.
///     pub struct Summary {
///         records => "Records": Count,
///         bytes_in => "BytesIn": Bytes,
///         /// Logged only.
///         calls,
///     }
/// }
/// ```
///
/// The INFO line is logged where the macro is used, so its `target` is the function's crate.
#[macro_export]
macro_rules! invocation_summary {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident $(=> $metric:literal : $unit:ident)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        $vis struct $name {
            $( $(#[$field_meta])* pub $field: u64, )*
        }

        impl $crate::InvocationSummary for $name {
            fn log(&self, duration_ms: f64) {
                $crate::tracing::info!($( $field = self.$field, )* duration_ms, "invocation");
            }

            fn metrics(&self, duration_ms: f64) -> ::std::vec::Vec<(&'static str, f64, $crate::emf::Unit)> {
                let mut metrics = ::std::vec::Vec::new();
                $( $( metrics.push(($metric, self.$field as f64, $crate::emf::Unit::$unit)); )? )*
                metrics.push(("Duration", duration_ms, $crate::emf::Unit::Milliseconds));
                metrics
            }
        }
    };
}
