//! Named readiness checks that a service flips as its dependencies come and go.
//!
//! `/readyz` is ready only when every check is; a service declares its checks at start-up as
//! not ready (`Readiness::declare`) so it does not look ready before it has even tried.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

/// One check's state.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CheckState {
    Ready,
    NotReady { reason: Option<String> },
}

/// A cloneable handle on the service's readiness checks; clones share state.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    checks: Arc<Mutex<BTreeMap<String, CheckState>>>,
}

/// One check in a [`ReadinessReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub name: String,
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A snapshot of every check: what `/readyz` serialises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadinessReport {
    /// True when every check is ready (and when there are none).
    pub ready: bool,
    /// Names of the checks that are not ready, sorted.
    pub failing: Vec<String>,
    /// Every check, sorted by name.
    pub checks: Vec<CheckReport>,
}

impl Readiness {
    /// No checks: ready until one is declared.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, CheckState>> {
        // A panic while holding this lock cannot leave the map half-updated (single inserts),
        // so a poisoned lock is still safe to use.
        self.checks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Declares `name` as not ready ("pending") unless it already exists, and returns a handle
    /// bound to it.
    pub fn declare(&self, name: &str) -> ReadinessCheck {
        self.lock()
            .entry(name.to_owned())
            .or_insert_with(|| CheckState::NotReady {
                reason: Some("pending".to_owned()),
            });
        ReadinessCheck {
            readiness: self.clone(),
            name: name.to_owned(),
        }
    }

    /// Marks `name` ready, creating it if needed.
    pub fn set_ready(&self, name: &str) {
        self.lock().insert(name.to_owned(), CheckState::Ready);
    }

    /// Marks `name` not ready with an optional reason, creating it if needed.
    pub fn set_not_ready(&self, name: &str, reason: Option<&str>) {
        self.lock().insert(
            name.to_owned(),
            CheckState::NotReady {
                reason: reason.map(str::to_owned),
            },
        );
    }

    /// Forgets `name` (a dependency the service no longer has).
    pub fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    /// Whether `name` is ready; `None` if no such check exists.
    pub fn is_check_ready(&self, name: &str) -> Option<bool> {
        self.lock()
            .get(name)
            .map(|state| *state == CheckState::Ready)
    }

    /// Whether every check is ready.
    pub fn is_ready(&self) -> bool {
        self.lock()
            .values()
            .all(|state| *state == CheckState::Ready)
    }

    /// A snapshot of every check.
    pub fn report(&self) -> ReadinessReport {
        let checks: Vec<CheckReport> = self
            .lock()
            .iter()
            .map(|(name, state)| match state {
                CheckState::Ready => CheckReport {
                    name: name.clone(),
                    ready: true,
                    reason: None,
                },
                CheckState::NotReady { reason } => CheckReport {
                    name: name.clone(),
                    ready: false,
                    reason: reason.clone(),
                },
            })
            .collect();
        let failing: Vec<String> = checks
            .iter()
            .filter(|check| !check.ready)
            .map(|check| check.name.clone())
            .collect();
        ReadinessReport {
            ready: failing.is_empty(),
            failing,
            checks,
        }
    }
}

/// A handle on one named check, to hand to the component that owns the dependency.
#[derive(Debug, Clone)]
pub struct ReadinessCheck {
    readiness: Readiness,
    name: String,
}

impl ReadinessCheck {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn set_ready(&self) {
        self.readiness.set_ready(&self.name);
    }

    pub fn set_not_ready(&self, reason: Option<&str>) {
        self.readiness.set_not_ready(&self.name, reason);
    }

    pub fn is_ready(&self) -> bool {
        self.readiness.is_check_ready(&self.name) == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_checks_means_ready() {
        let readiness = Readiness::new();
        assert!(readiness.is_ready());
        let report = readiness.report();
        assert!(report.ready);
        assert!(report.failing.is_empty());
        assert!(report.checks.is_empty());
    }

    #[test]
    fn declared_check_starts_not_ready_with_pending_reason() {
        let readiness = Readiness::new();
        let redis = readiness.declare("redis");
        assert!(!redis.is_ready());
        assert!(!readiness.is_ready());
        let report = readiness.report();
        assert_eq!(report.failing, vec!["redis".to_owned()]);
        assert_eq!(report.checks[0].reason.as_deref(), Some("pending"));
    }

    #[test]
    fn redeclaring_keeps_the_current_state() {
        let readiness = Readiness::new();
        readiness.declare("redis").set_ready();
        assert!(readiness.declare("redis").is_ready());
    }

    #[test]
    fn ready_only_when_every_check_is_ready() {
        let readiness = Readiness::new();
        let redis = readiness.declare("redis");
        let replay = readiness.declare("graph_replay");
        redis.set_ready();
        assert!(!readiness.is_ready());
        replay.set_ready();
        assert!(readiness.is_ready());
        redis.set_not_ready(Some("connection refused"));
        let report = readiness.report();
        assert!(!report.ready);
        assert_eq!(report.failing, vec!["redis".to_owned()]);
        let redis_report = report.checks.iter().find(|c| c.name == "redis");
        assert_eq!(
            redis_report.and_then(|c| c.reason.as_deref()),
            Some("connection refused")
        );
    }

    #[test]
    fn clones_share_state() {
        let readiness = Readiness::new();
        let clone = readiness.clone();
        clone.set_not_ready("kafka", None);
        assert_eq!(readiness.is_check_ready("kafka"), Some(false));
        readiness.remove("kafka");
        assert_eq!(clone.is_check_ready("kafka"), None);
        assert!(clone.is_ready());
    }

    #[test]
    fn report_is_sorted_by_name_and_serialises_without_empty_reasons() {
        let readiness = Readiness::new();
        readiness.set_ready("zeta");
        readiness.set_not_ready("alpha", Some("down"));
        let report = readiness.report();
        let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        let json = serde_json::to_string(&report).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"ready":false,"failing":["alpha"],"checks":[{"name":"alpha","ready":false,"reason":"down"},{"name":"zeta","ready":true}]}"#
        );
    }
}
