//! Prometheus metrics and the /metrics, /healthz, /readyz endpoints every service serves (being built).
