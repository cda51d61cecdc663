//! Process-wide `tracing` set-up shared by every service.

use std::str::FromStr;

use tracing_subscriber::EnvFilter;

/// Filter used when `RUST_LOG` is unset or unparsable.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines, for a terminal.
    #[default]
    Human,
}

/// A log format name that is neither `json` nor `human`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format {0:?} (expected \"json\" or \"human\")")]
pub struct UnknownLogFormat(pub String);

impl FromStr for LogFormat {
    type Err = UnknownLogFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "human" | "text" | "pretty" => Ok(LogFormat::Human),
            _ => Err(UnknownLogFormat(s.to_owned())),
        }
    }
}

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER))
}

/// Installs the global subscriber: `RUST_LOG` filter (default `info`), `format` to stdout.
///
/// Idempotent: returns `true` if this call installed the subscriber, `false` if one was
/// already installed (by an earlier call, or by a test harness), which is left untouched.
pub fn init_tracing(service: &str, format: LogFormat) -> bool {
    let builder = tracing_subscriber::fmt().with_env_filter(env_filter());
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
            .is_ok(),
        LogFormat::Human => builder.try_init().is_ok(),
    };
    if installed {
        // The fmt layer has no static fields; this first line ties the process to its service.
        tracing::info!(service, ?format, "tracing initialised");
    }
    installed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_parses_case_insensitively() {
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!("JSON".parse(), Ok(LogFormat::Json));
        assert_eq!("human".parse(), Ok(LogFormat::Human));
        assert_eq!(
            "xml".parse::<LogFormat>(),
            Err(UnknownLogFormat("xml".to_owned()))
        );
    }

    #[test]
    fn second_init_is_a_no_op() {
        // Installed first so this test binary's logs go to the captured test output rather than
        // straight to stdout; may lose to another test, which is just as good.
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        assert!(!init_tracing("test", LogFormat::Human));
        assert!(!init_tracing("test", LogFormat::Json));
    }
}
