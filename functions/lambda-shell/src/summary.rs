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
/// with `=> "MetricName": Unit`, also sent as an EMF metric; with `when other_field`, only when
/// that counter is not zero (an age of no documents is no age of 0).
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
            $( $(#[$field_meta:meta])* $field:ident $(=> $metric:literal : $unit:ident $(when $when:ident)?)? ),* $(,)?
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
                $( $(
                    if true $( && self.$when > 0 )? {
                        metrics.push(($metric, self.$field as f64, $crate::emf::Unit::$unit));
                    }
                )? )*
                metrics.push(("Duration", duration_ms, $crate::emf::Unit::Milliseconds));
                metrics
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::InvocationSummary as _;
    use crate::emf::Unit;

    crate::invocation_summary! {
        struct Example {
            records => "Records": Count,
            aged,
            age_ms => "Age": Milliseconds when aged,
            calls,
        }
    }

    #[test]
    fn metrics_by_name_and_only_when_their_condition_holds() {
        let names = |summary: &Example| -> Vec<&'static str> {
            summary.metrics(1.5).iter().map(|(name, _, _)| *name).collect()
        };
        let none_aged = Example { records: 3, aged: 0, age_ms: 0, calls: 1 };
        assert_eq!(names(&none_aged), ["Records", "Duration"], "no age of no documents");
        let aged = Example { records: 3, aged: 2, age_ms: 1_200, calls: 1 };
        assert_eq!(names(&aged), ["Records", "Age", "Duration"]);
        assert!(matches!(aged.metrics(1.5)[1], ("Age", 1_200.0, Unit::Milliseconds)));
    }
}
