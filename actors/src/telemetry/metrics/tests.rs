use super::*;

#[test]
fn counters_must_end_in_total() {
    assert!(validate_metric_name("peer_messages_received_total", MetricKind::Counter).is_ok());
    assert!(matches!(
        validate_metric_name("peer_messages_received", MetricKind::Counter),
        Err(MetricsError::CounterWithoutTotal { .. })
    ));
}

#[test]
fn only_counters_end_in_total() {
    for kind in [MetricKind::Gauge, MetricKind::Histogram] {
        assert!(matches!(
            validate_metric_name("peers_total", kind),
            Err(MetricsError::TotalOnNonCounter { .. })
        ));
    }
}

#[test]
fn histograms_end_in_a_base_unit() {
    assert!(validate_metric_name("graph_load_seconds", MetricKind::Histogram).is_ok());
    assert!(validate_metric_name("message_size_bytes", MetricKind::Histogram).is_ok());
    assert!(matches!(
        validate_metric_name("graph_load_duration", MetricKind::Histogram),
        Err(MetricsError::HistogramWithoutBaseUnit { .. })
    ));
}

#[test]
fn scaled_units_are_refused_with_the_base_unit_to_use() {
    match validate_metric_name("sign_latency_ms", MetricKind::Histogram) {
        Err(MetricsError::ScaledUnit { unit, base, .. }) => {
            assert_eq!((unit, base), ("ms", "seconds"));
        }
        other => panic!("expected ScaledUnit, got {other:?}"),
    }
    assert!(matches!(
        validate_metric_name("busy_milliseconds_total", MetricKind::Counter),
        Err(MetricsError::ScaledUnit { .. })
    ));
    assert!(matches!(
        validate_metric_name("buffer_kb", MetricKind::Gauge),
        Err(MetricsError::ScaledUnit { .. })
    ));
}

#[test]
fn names_must_be_snake_case_with_a_unit() {
    for bad in [
        "",
        "Peers_total",
        "peers-total",
        "1peers_total",
        "peers__total",
        "peers_total_",
        "_peers_total",
        "peers total",
    ] {
        assert!(
            matches!(
                validate_metric_name(bad, MetricKind::Counter),
                Err(MetricsError::NotSnakeCase { .. })
            ),
            "{bad:?} accepted"
        );
    }
    assert!(matches!(
        validate_metric_name("total", MetricKind::Counter),
        Err(MetricsError::MissingUnit { .. })
    ));
    assert!(matches!(
        validate_metric_name("peers", MetricKind::Gauge),
        Err(MetricsError::MissingUnit { .. })
    ));
}

#[test]
fn service_name_must_be_snake_case() {
    assert!(Metrics::new("edge").is_ok());
    assert!(Metrics::new("edge_node").is_ok());
    for bad in ["edge-node", "Edge", "", "edge_"] {
        assert!(
            matches!(
                Metrics::new(bad),
                Err(MetricsError::InvalidServiceName { .. })
            ),
            "{bad:?} accepted"
        );
    }
}

#[test]
fn registered_metrics_carry_the_service_prefix() -> Result<(), MetricsError> {
    let metrics = Metrics::new("edge")?;
    let received = metrics.counter("peer_messages_received_total", "messages from peers")?;
    let peers = metrics.gauge("peers_connected", "connected peers")?;
    let latency = metrics.histogram("hsm_request_seconds", "hsm round trip", None)?;
    received.inc_by(3);
    peers.set(2);
    latency.observe(0.01);
    let text = metrics.encode_text();
    assert!(text.contains("# TYPE lnfleet_edge_peer_messages_received_total counter"));
    assert!(text.contains("lnfleet_edge_peer_messages_received_total 3"));
    assert!(text.contains("lnfleet_edge_peers_connected 2"));
    assert!(text.contains("lnfleet_edge_hsm_request_seconds_count 1"));
    Ok(())
}

#[test]
fn labelled_metrics_check_their_label_names() -> Result<(), MetricsError> {
    let metrics = Metrics::new("edge")?;
    let by_type = metrics.counter_vec("messages_total", "messages", &["message_type"])?;
    by_type.with_label_values(&["ping"]).inc();
    assert!(metrics
        .encode_text()
        .contains(r#"lnfleet_edge_messages_total{message_type="ping"} 1"#));
    assert!(matches!(
        metrics.gauge_vec("queue_depth_messages", "depth", &["Topic"]),
        Err(MetricsError::InvalidLabel { .. })
    ));
    assert!(metrics
        .histogram_vec(
            "handle_seconds",
            "handling time",
            &["message_type"],
            Some(vec![0.001, 0.01, 0.1])
        )
        .is_ok());
    Ok(())
}

#[test]
fn registering_the_same_name_twice_is_refused() -> Result<(), MetricsError> {
    let metrics = Metrics::new("hsm")?;
    metrics.counter("signatures_total", "signatures made")?;
    match metrics.counter("signatures_total", "again") {
        Err(MetricsError::AlreadyRegistered { name }) => {
            assert_eq!(name, "lnfleet_hsm_signatures_total");
        }
        other => panic!("expected AlreadyRegistered, got {other:?}"),
    }
    Ok(())
}

#[test]
fn clones_share_one_registry() -> Result<(), MetricsError> {
    let metrics = Metrics::new("hsm")?;
    let clone = metrics.clone();
    clone.counter("requests_total", "requests")?.inc();
    assert!(metrics
        .encode_text()
        .contains("lnfleet_hsm_requests_total 1"));
    assert_eq!(clone.service(), "hsm");
    Ok(())
}
