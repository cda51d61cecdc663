use proptest::prelude::*;

use super::*;

#[test]
fn bit_zero_is_the_lowest_bit_of_the_last_byte() {
    let f = Features::from_wire_bytes(&[0x80, 0x01]);
    assert!(f.has_bit(0));
    assert!(f.has_bit(15));
    assert!(!f.has_bit(1));
    assert!(!f.has_bit(16));
    assert_eq!(f.iter().collect::<Vec<_>>(), vec![0, 15]);
}

#[test]
fn setting_bits_builds_the_minimal_big_endian_vector() {
    let mut f = Features::new();
    assert_eq!(f.to_wire_bytes(), Vec::<u8>::new());
    f.set_bit(0);
    assert_eq!(f.to_wire_bytes(), vec![0x01]);
    f.set_bit(9);
    assert_eq!(f.to_wire_bytes(), vec![0x02, 0x01]);
    f.set_bit(17);
    assert_eq!(f.to_wire_bytes(), vec![0x02, 0x02, 0x01]);
    f.clear_bit(17);
    assert_eq!(f.to_wire_bytes(), vec![0x02, 0x01]);
}

#[test]
fn table_bits_match_bolt9() {
    // BOLT 9 table, "Bits" column.
    let expected: &[(Feature, u32, &str)] = &[
        (Feature::DataLossProtect, 0, "option_data_loss_protect"),
        (
            Feature::UpfrontShutdownScript,
            4,
            "option_upfront_shutdown_script",
        ),
        (Feature::GossipQueries, 6, "gossip_queries"),
        (Feature::VarOnionOptin, 8, "var_onion_optin"),
        (Feature::GossipQueriesEx, 10, "gossip_queries_ex"),
        (Feature::StaticRemoteKey, 12, "option_static_remotekey"),
        (Feature::PaymentSecret, 14, "payment_secret"),
        (Feature::BasicMpp, 16, "basic_mpp"),
        (
            Feature::SupportLargeChannel,
            18,
            "option_support_large_channel",
        ),
        (Feature::Anchors, 22, "option_anchors"),
        (Feature::RouteBlinding, 24, "option_route_blinding"),
        (Feature::ShutdownAnySegwit, 26, "option_shutdown_anysegwit"),
        (Feature::DualFund, 28, "option_dual_fund"),
        (Feature::Quiesce, 34, "option_quiesce"),
        (Feature::AttributionData, 36, "option_attribution_data"),
        (Feature::OnionMessages, 38, "option_onion_messages"),
        (Feature::ProvideStorage, 42, "option_provide_storage"),
        (Feature::ChannelType, 44, "option_channel_type"),
        (Feature::ScidAlias, 46, "option_scid_alias"),
        (Feature::PaymentMetadata, 48, "option_payment_metadata"),
        (Feature::Zeroconf, 50, "option_zeroconf"),
        (Feature::SimpleClose, 60, "option_simple_close"),
        (Feature::Splice, 62, "option_splice"),
    ];
    assert_eq!(expected.len(), Feature::ALL.len());
    for ((feature, bit, name), listed) in expected.iter().zip(Feature::ALL) {
        assert_eq!(*feature, listed);
        assert_eq!(feature.required_bit(), *bit);
        assert_eq!(feature.optional_bit(), bit + 1);
        assert_eq!(feature.name(), *name);
        assert_eq!(Feature::from_bit(*bit), Some(*feature));
        assert_eq!(Feature::from_bit(bit + 1), Some(*feature));
    }
    for unassigned in [2, 3, 20, 21, 30, 31, 32, 33, 40, 41, 52, 64, 101] {
        assert_eq!(Feature::from_bit(unassigned), None, "bit {unassigned}");
    }
}

#[test]
fn var_onion_optin_optional_and_payment_secret_required_encode_as_expected() {
    // bit 9 (var_onion_optin odd) and bit 14 (payment_secret even): 0b0100_0010_0000_0000.
    let f = Features::new()
        .with_optional(Feature::VarOnionOptin)
        .with_required(Feature::PaymentSecret);
    assert_eq!(f.to_wire_bytes(), vec![0x42, 0x00]);
}

#[test]
fn required_means_even_bit_supported_means_either() {
    let f = Features::new()
        .with_required(Feature::PaymentSecret)
        .with_optional(Feature::BasicMpp);
    assert!(f.requires(Feature::PaymentSecret));
    assert!(f.supports(Feature::PaymentSecret));
    assert!(!f.requires(Feature::BasicMpp));
    assert!(f.supports(Feature::BasicMpp));
    assert!(!f.supports(Feature::Anchors));
}

#[test]
fn set_required_and_set_optional_never_leave_both_bits_set() {
    let mut f = Features::new().with_optional(Feature::Anchors);
    f.set_required(Feature::Anchors);
    assert!(f.has_bit(22) && !f.has_bit(23));
    f.set_optional(Feature::Anchors);
    assert!(!f.has_bit(22) && f.has_bit(23));
}

#[test]
fn both_bits_set_counts_as_required() {
    let f: Features = [22, 23].into_iter().collect();
    assert!(f.requires(Feature::Anchors));
}

#[test]
fn union_ors_fields_of_different_lengths() {
    let global = Features::from_wire_bytes(&[0x02]); // bit 1
    let local = Features::from_wire_bytes(&[0x00, 0x80, 0x00]); // bit 15, padded
    let both = global.union(&local);
    assert_eq!(both.to_wire_bytes(), vec![0x80, 0x02]);
    assert_eq!(both, local.union(&global));
}

#[test]
fn parsed_padding_is_kept_but_ignored_by_equality() {
    let padded = Features::from_wire_bytes(&[0x00, 0x00, 0x01]);
    assert_eq!(padded.to_wire_bytes(), vec![0x00, 0x00, 0x01]);
    assert_eq!(padded.minimal_wire_bytes(), &[0x01]);
    assert_eq!(padded, Features::from_wire_bytes(&[0x01]));
    assert!(Features::from_wire_bytes(&[0, 0]).is_empty());
}

#[test]
fn unknown_required_bits_lists_even_bits_outside_the_table() {
    let f: Features = [14, 20, 21, 101, 102].into_iter().collect();
    assert_eq!(f.unknown_required_bits(), vec![20, 102]);
}

#[test]
fn peer_requiring_a_feature_we_know_only_as_optional_is_understood() {
    let ours = Features::new().with_optional(Feature::Anchors);
    let peer = Features::new().with_required(Feature::Anchors);
    assert_eq!(peer.first_unknown_required(&ours), None);
}

#[test]
fn peer_requiring_a_feature_we_lack_is_reported() {
    let ours = Features::new()
        .with_optional(Feature::Anchors)
        .with_required(Feature::PaymentSecret);
    let peer: Features = [14, 23, 27, 40, 42].into_iter().collect();
    assert_eq!(peer.first_unknown_required(&ours), Some(40));
}

#[test]
fn unknown_odd_bits_are_never_required() {
    let ours = Features::new();
    let peer: Features = [1, 101, 1001].into_iter().collect();
    assert_eq!(peer.first_unknown_required(&ours), None);
    assert!(peer.unknown_required_bits().is_empty());
}

#[test]
fn dependencies_follow_the_bolt9_column() {
    assert_eq!(Feature::BasicMpp.dependencies(), &[Feature::PaymentSecret]);
    assert_eq!(Feature::Zeroconf.dependencies(), &[Feature::ScidAlias]);
    assert_eq!(
        Feature::SimpleClose.dependencies(),
        &[Feature::ShutdownAnySegwit]
    );
    let f = Features::new()
        .with_optional(Feature::BasicMpp)
        .with_optional(Feature::Zeroconf)
        .with_required(Feature::SimpleClose);
    assert_eq!(
        f.missing_dependencies(),
        vec![
            (Feature::BasicMpp, Feature::PaymentSecret),
            (Feature::Zeroconf, Feature::ScidAlias),
            (Feature::SimpleClose, Feature::ShutdownAnySegwit),
        ]
    );
    let complete = f
        .with_optional(Feature::PaymentSecret)
        .with_optional(Feature::ScidAlias)
        .with_optional(Feature::ShutdownAnySegwit);
    assert!(complete.missing_dependencies().is_empty());
}

#[test]
fn display_names_bits_lowest_first() {
    let f: Features = [14, 17, 101].into_iter().collect();
    assert_eq!(
        f.to_string(),
        "payment_secret(req),basic_mpp(opt),unknown_101(opt)"
    );
    assert_eq!(Features::new().to_string(), "");
}

#[test]
fn highest_encodable_bit_round_trips() {
    let f: Features = [MAX_BIT].into_iter().collect();
    assert_eq!(f.as_wire_bytes().len(), u16::MAX as usize);
    assert_eq!(f.as_wire_bytes()[0], 0x80);
    assert_eq!(f.iter().collect::<Vec<_>>(), vec![MAX_BIT]);
}

proptest! {
    #[test]
    fn wire_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let f = Features::from_wire_bytes(&bytes);
        prop_assert_eq!(f.to_wire_bytes(), bytes.clone());
        let rebuilt: Features = f.iter().collect();
        prop_assert_eq!(rebuilt.as_wire_bytes(), f.minimal_wire_bytes());
        prop_assert_eq!(&rebuilt, &f);
    }

    #[test]
    fn set_bits_are_exactly_the_ones_reported(bits in proptest::collection::btree_set(0u32..600, 0..20)) {
        let f: Features = bits.iter().copied().collect();
        prop_assert_eq!(f.iter().collect::<Vec<_>>(), bits.iter().copied().collect::<Vec<_>>());
        prop_assert_eq!(f.as_wire_bytes(), f.minimal_wire_bytes());
        for bit in 0..610 {
            prop_assert_eq!(f.has_bit(bit), bits.contains(&bit));
        }
    }

    #[test]
    fn union_is_the_set_union(
        a in proptest::collection::btree_set(0u32..300, 0..20),
        b in proptest::collection::btree_set(0u32..300, 0..20),
    ) {
        let fa: Features = a.iter().copied().collect();
        let fb: Features = b.iter().copied().collect();
        let expected: Vec<u32> = a.union(&b).copied().collect();
        prop_assert_eq!(fa.union(&fb).iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn a_set_understands_everything_it_requires(bits in proptest::collection::btree_set(0u32..300, 0..20)) {
        let f: Features = bits.into_iter().collect();
        prop_assert_eq!(f.first_unknown_required(&f), None);
    }
}

#[test]
fn check_peer_applies_the_init_receiver_rules() {
    let ours = Features::new()
        .with_optional(Feature::PaymentSecret)
        .with_optional(Feature::BasicMpp);
    let good = Features::new()
        .with_required(Feature::PaymentSecret)
        .with_optional(Feature::BasicMpp)
        .with_optional(Feature::Splice);
    assert_eq!(good.check_peer(&ours), Ok(()));
    let unknown: Features = [14, 62].into_iter().collect();
    assert_eq!(
        unknown.check_peer(&ours),
        Err(FeatureIncompatibility::UnknownRequired(62))
    );
    let no_dep = Features::new().with_optional(Feature::BasicMpp);
    assert_eq!(
        no_dep.check_peer(&ours),
        Err(FeatureIncompatibility::MissingDependency(
            Feature::BasicMpp,
            Feature::PaymentSecret
        ))
    );
}
