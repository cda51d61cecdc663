use super::*;
use lnfleet_wire::bolt1::Pong;
use lnfleet_wire::channel::UpdateFee;
use lnfleet_wire::gossip::GossipTimestampFilter;
use lnfleet_wire::tlv::TlvStream;

fn config() -> SessionConfig {
    SessionConfig {
        chain: ChainHash::REGTEST,
        ping_interval: Duration::from_secs(30),
        pong_timeout: Duration::from_secs(10),
        ping_flood_window: Duration::from_secs(60),
        max_pings_per_window: 3,
        ..SessionConfig::default()
    }
}

fn decoded(action: &Action) -> Message {
    match action {
        Action::Send(raw) => message::decode(raw).unwrap(),
        other => panic!("not a send: {other:?}"),
    }
}

#[test]
fn edge_announces_gossip_queries_only() {
    let features = edge_features();
    assert!(features.supports(Feature::GossipQueries));
    assert!(!features.requires(Feature::GossipQueries));
    assert_eq!(features.iter().collect::<Vec<_>>(), vec![7]);
}

#[test]
fn init_requiring_an_unknown_feature_is_refused_with_an_error() {
    let theirs = Init::new(Features::from_iter([100]), vec![ChainHash::REGTEST], None);
    let rejection = Session::check_their_init(&config(), &theirs).unwrap_err();
    assert_eq!(rejection.reason, CloseReason::UnknownRequiredFeature(100));
    let Message::Error(error) = message::decode(&rejection.farewell).unwrap() else {
        panic!("expected error");
    };
    assert!(error.is_connection_wide());
}

#[test]
fn init_requiring_gossip_queries_is_accepted() {
    let theirs = Init::new(
        Features::from_iter([6, 101]),
        vec![ChainHash::REGTEST],
        None,
    );
    assert_eq!(Session::check_their_init(&config(), &theirs), Ok(()));
}

#[test]
fn init_without_our_chain_is_refused_with_a_warning() {
    let theirs = Init::new(Features::new(), vec![ChainHash::BITCOIN], None);
    let rejection = Session::check_their_init(&config(), &theirs).unwrap_err();
    assert_eq!(rejection.reason, CloseReason::NoCommonChain);
    assert!(matches!(
        message::decode(&rejection.farewell).unwrap(),
        Message::Warning(_)
    ));
    let no_networks = Init::new(Features::new(), Vec::new(), None);
    let no_networks = Init {
        networks: None,
        ..no_networks
    };
    assert_eq!(Session::check_their_init(&config(), &no_networks), Ok(()));
}

#[test]
fn ping_gets_a_pong_of_the_asked_length_and_65532_gets_none() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    let actions = session.on_received(Ping::new(42, 3).encode(), now);
    assert_eq!(actions.len(), 1);
    assert_eq!(decoded(&actions[0]), Message::Pong(Pong::new(42)));
    assert!(session
        .on_received(Ping::new(65532, 0).encode(), now)
        .is_empty());
}

#[test]
fn too_many_pings_in_the_window_close_with_a_warning() {
    let start = Instant::now();
    let mut session = Session::new(config(), start);
    for i in 0..3 {
        let actions = session.on_received(Ping::new(1, 0).encode(), start + Duration::from_secs(i));
        assert!(matches!(actions.as_slice(), [Action::Send(_)]));
    }
    let actions = session.on_received(Ping::new(1, 0).encode(), start + Duration::from_secs(3));
    assert!(matches!(decoded(&actions[0]), Message::Warning(_)));
    assert_eq!(actions[1], Action::Close(CloseReason::PingFlood));
}

#[test]
fn pings_spread_beyond_the_window_are_fine() {
    let start = Instant::now();
    let mut session = Session::new(config(), start);
    for i in 0..10 {
        let at = start + Duration::from_secs(25 * i);
        let actions = session.on_received(Ping::new(1, 0).encode(), at);
        assert!(matches!(actions.as_slice(), [Action::Send(_)]), "ping {i}");
    }
}

#[test]
fn keepalive_pings_after_the_interval_and_closes_without_pong() {
    let start = Instant::now();
    let mut session = Session::new(config(), start);
    assert!(session.on_tick(start + Duration::from_secs(29)).is_empty());
    let actions = session.on_tick(start + Duration::from_secs(30));
    let Message::Ping(ping) = decoded(&actions[0]) else {
        panic!("expected ping");
    };
    assert_eq!(ping.num_pong_bytes, config().keepalive_pong_bytes);
    assert!(session.awaiting_pong());
    assert!(session.on_tick(start + Duration::from_secs(39)).is_empty());
    assert_eq!(
        session.on_tick(start + Duration::from_secs(40)),
        vec![Action::Close(CloseReason::PongTimeout)]
    );
}

#[test]
fn matching_pong_clears_the_keepalive_and_unsolicited_pongs_are_ignored() {
    let start = Instant::now();
    let mut session = Session::new(config(), start);
    assert!(session.on_received(Pong::new(5).encode(), start).is_empty());
    session.on_tick(start + Duration::from_secs(30));
    let pong = Pong::new(config().keepalive_pong_bytes).encode();
    assert!(session.on_received(pong, start).is_empty());
    assert!(!session.awaiting_pong());
    assert!(session.on_tick(start + Duration::from_secs(59)).is_empty());
}

#[test]
fn pong_of_the_wrong_length_closes() {
    let start = Instant::now();
    let mut session = Session::new(config(), start);
    session.on_tick(start + Duration::from_secs(30));
    let actions = session.on_received(Pong::new(3).encode(), start);
    assert!(matches!(
        actions.as_slice(),
        [Action::Close(CloseReason::PongMismatch { got: 3, .. })]
    ));
}

#[test]
fn unknown_odd_is_custom_and_unknown_even_fails_the_connection() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    let odd = vec![0x80, 0x01, 1, 2, 3];
    assert_eq!(
        session.on_received(odd.clone(), now),
        vec![Action::Custom(odd)]
    );
    let actions = session.on_received(vec![0x80, 0x00, 1], now);
    let Message::Error(error) = decoded(&actions[0]) else {
        panic!("expected error");
    };
    assert!(error.is_connection_wide());
    assert_eq!(
        actions[1],
        Action::Close(CloseReason::UnknownEvenMessage(32768))
    );
}

#[test]
fn malformed_message_gets_a_warning_and_closes() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    // A ping cut short inside its u16 length.
    let actions = session.on_received(vec![0, 18, 0], now);
    assert!(matches!(decoded(&actions[0]), Message::Warning(_)));
    assert!(matches!(
        actions[1],
        Action::Close(CloseReason::Malformed(_))
    ));
    assert!(matches!(
        Session::new(config(), now)
            .on_received(vec![7], now)
            .as_slice(),
        [Action::Send(_), Action::Close(CloseReason::Malformed(_))]
    ));
}

#[test]
fn connection_wide_error_closes_and_a_channel_error_for_no_channel_is_ignored() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    let channel_error = ErrorMessage::new(ChannelId([9; 32]), "bad").encode();
    assert!(session.on_received(channel_error, now).is_empty());
    let warning = Warning::connection_wide("hm").encode();
    assert!(session.on_received(warning, now).is_empty());
    let all = ErrorMessage::connection_wide("bye").encode();
    assert_eq!(
        session.on_received(all, now),
        vec![Action::Close(CloseReason::PeerError("bye".into()))]
    );
}

#[test]
fn gossip_goes_to_the_gossip_hook_with_its_bytes() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    let filter = GossipTimestampFilter {
        chain_hash: ChainHash::REGTEST,
        first_timestamp: 1,
        timestamp_range: 2,
    };
    let raw = filter.encode();
    let actions = session.on_received(raw.clone(), now);
    assert_eq!(
        actions,
        vec![Action::Gossip {
            message: Box::new(Message::GossipTimestampFilter(filter)),
            raw
        }]
    );
}

#[test]
fn channel_message_for_an_unknown_channel_gets_an_error_for_that_channel() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    let id = ChannelId([4; 32]);
    let fee = UpdateFee {
        channel_id: id,
        feerate_per_kw: 253,
        extra_tlvs: TlvStream::new(),
    };
    let actions = session.on_received(fee.encode(), now);
    assert_eq!(actions.len(), 1, "the connection stays open");
    let Message::Error(error) = decoded(&actions[0]) else {
        panic!("expected error");
    };
    assert_eq!(error.channel_id, id);
    assert_eq!(error.text(), super::super::channels::UNKNOWN_CHANNEL);
}

#[test]
fn time_spent_not_reading_moves_the_pong_deadline() {
    let start = Instant::now();
    let mut session = Session::new(config(), start);
    session.on_tick(start + Duration::from_secs(30));
    session.reading_paused_for(Duration::from_secs(15));
    assert!(session.on_tick(start + Duration::from_secs(50)).is_empty());
    assert_eq!(
        session.on_tick(start + Duration::from_secs(55)),
        vec![Action::Close(CloseReason::PongTimeout)]
    );
}
