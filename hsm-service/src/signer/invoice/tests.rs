//! BOLT 11 "Examples" (11-payment-encoding.md): every example is signed with one private key
//! using RFC 6979, so signing each example's hrp + data must reproduce its signature and
//! recovery id exactly.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Fe32};
use proptest::prelude::*;
use secp256k1::{PublicKey, SecretKey};

use super::*;
use crate::key_source::{ExplicitKeys, KeySource};
use crate::signer::Signer;

/// BOLT 11, Examples: "all the following examples are signed with `priv_key`=...".
const BOLT11_PRIV_KEY: &str = "e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734";
const BOLT11_NODE_ID: &str = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";

/// BOLT 11, Examples, verbatim (the valid invoices; the high-S example is left out because its
/// signature is deliberately not the RFC 6979 one).
const BOLT11_EXAMPLES: &[&str] = &[
    // Please make a donation of any amount using payment_hash 0001020304050607080900010203040506070809000102030405060708090102 to me @03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad
    "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql",
    // Please send $3 for a cup of coffee to the same peer, within one minute
    "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh",
    // Please send 0.0025 BTC for a cup of nonsense (ナンセンス 1杯) to the same peer, within one minute
    "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpu9qrsgqhtjpauu9ur7fw2thcl4y9vfvh4m9wlfyz2gem29g5ghe2aak2pm3ps8fdhtceqsaagty2vph7utlgj48u0ged6a337aewvraedendscp573dxr",
    // Now send $24 for an entire list of things (hashed)
    "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqs9qrsgq7ea976txfraylvgzuxs8kgcw23ezlrszfnh8r6qtfpr6cxga50aj6txm9rxrydzd06dfeawfk6swupvz4erwnyutnjq7x39ymw6j38gp7ynn44",
    // The same, on testnet, with a fallback address mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP
    "lntb20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfpp3x9et2e20v6pu37c5d9vax37wxq72un989qrsgqdj545axuxtnfemtpwkc45hx9d2ft7x04mt8q7y6t0k2dge9e7h8kpy9p34ytyslj3yu569aalz2xdk8xkd7ltxqld94u8h2esmsmacgpghe9k8",
    // On mainnet, with fallback address 1RustyRX2oai4EYYDpQGWvEL62BBGqN9T with extra routing info to go via nodes 029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255 then 039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255
    "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzq9qrsgqdfjcdk6w3ak5pca9hwfwfh63zrrz06wwfya0ydlzpgzxkn5xagsqz7x9j4jwe7yj7vaf2k9lqsdk45kts2fd0fkr28am0u4w95tt2nsq76cqw0",
    // On mainnet, with fallback (P2SH) address 3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX
    "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppj3a24vwu6r8ejrss3axul8rxldph2q7z99qrsgqz6qsgww34xlatfj6e3sngrwfy3ytkt29d2qttr8qz2mnedfqysuqypgqex4haa2h8fx3wnypranf3pdwyluftwe680jjcfp438u82xqphf75ym",
    // On mainnet, with fallback (P2WPKH) address bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4
    "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppqw508d6qejxtdg4y5r3zarvary0c5xw7k9qrsgqt29a0wturnys2hhxpner2e3plp6jyj8qx7548zr2z7ptgjjc7hljm98xhjym0dg52sdrvqamxdezkmqg4gdrvwwnf0kv2jdfnl4xatsqmrnsse",
    // On mainnet, with fallback (P2WSH) address bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3
    "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfp4qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q9qrsgq9vlvyj8cqvq6ggvpwd53jncp9nwc47xlrsnenq2zp70fq83qlgesn4u3uyf4tesfkkwwfg3qs54qe426hp3tz7z6sweqdjg05axsrjqp9yrrwc",
    // On mainnet, with fallback (P2TR) address bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm
    "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfp4pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszs9qrsgqy606dznq28exnydt2r4c29y56xjtn3sk4mhgjtl4pg2y4ar3249rq4ajlmj9jy8zvlzw7cr8mggqzm842xfr0v72rswzq9xvr4hknfsqwmn6xd",
    // Please send 0.00967878534 BTC for a list of items within one week, amount in pico-BTC
    "lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygsxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9q9qrsgqrvgkpnmps664wgkp43l22qsgdw4ve24aca4nymnxddlnp8vh9v2sdxlu5ywdxefsfvm0fq3sesf08uf6q9a2ke0hc9j6z6wlxg5z5kqpu2v9wz",
    // Please send $30 for coffee beans to the same peer, which supports features 8, 14 and 99, using secret 0x1111111111111111111111111111111111111111111111111111111111111111
    "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqqsgq2a25dxl5hrntdtn6zvydt7d66hyzsyhqs4wdynavys42xgl6sgx9c4g7me86a27t07mdtfry458rtjr0v92cnmswpsjscgt2vcse3sgpz3uapa",
    // Please send 0.01 BTC with payment metadata 0x01fafaf0
    "lnbc10m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdp9wpshjmt9de6zqmt9w3skgct5vysxjmnnd9jx2mq8q8a04uqsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q2gqqqqqqsgq7hf8he7ecf7n4ffphs6awl9t6676rrclv9ckg3d3ncn7fct63p6s365duk5wrk202cfy3aj5xnnp5gs3vrdvruverwwq7yzhkf5a3xqpd05wjc",
];

/// 104 five-bit groups = 520 bits = the 65-byte signature (64-byte compact + recovery id).
const SIGNATURE_GROUPS: usize = 104;

struct SplitInvoice {
    hrp: String,
    data: Vec<u8>,
    signature: [u8; 64],
    recovery_id: i32,
}

fn split(invoice: &str) -> SplitInvoice {
    let checked = CheckedHrpstring::new::<Bech32>(invoice).expect("valid bech32");
    let groups: Vec<u8> = checked
        .data_part_ascii_no_checksum()
        .iter()
        .map(|c| Fe32::from_char(char::from(*c)).unwrap().to_u8())
        .collect();
    let (data, signature_groups) = groups.split_at(groups.len() - SIGNATURE_GROUPS);
    let signature_bytes = five_bit_to_bytes(signature_groups).unwrap();
    assert_eq!(signature_bytes.len(), 65);
    SplitInvoice {
        hrp: checked.hrp().to_lowercase(),
        data: data.to_vec(),
        signature: signature_bytes[..64].try_into().unwrap(),
        recovery_id: i32::from(signature_bytes[64]),
    }
}

fn bolt11_signer() -> (Signer, PublicKey) {
    let secret = SecretKey::from_slice(&hex::decode(BOLT11_PRIV_KEY).unwrap()).unwrap();
    let signer = Signer::explicit(ExplicitKeys::new().with_node(secret));
    let node_id = PublicKey::from_slice(&hex::decode(BOLT11_NODE_ID).unwrap()).unwrap();
    (signer, node_id)
}

#[test]
fn bolt11_key_is_the_examples_payee() {
    let (signer, node_id) = bolt11_signer();
    assert_eq!(signer.node_ids(), vec![node_id]);
}

#[test]
fn signing_bolt11_examples_reproduces_their_signatures() {
    let (signer, node_id) = bolt11_signer();
    for invoice in BOLT11_EXAMPLES {
        let parts = split(invoice);
        let signature = signer
            .sign_invoice(&node_id, &parts.hrp, &parts.data)
            .unwrap();
        let (recovery_id, compact) = signature.serialize_compact();
        assert_eq!(
            hex::encode(compact),
            hex::encode(parts.signature),
            "{invoice}"
        );
        assert_eq!(recovery_id.to_i32(), parts.recovery_id, "{invoice}");
    }
}

#[test]
fn bolt11_first_example_signing_data_and_hash() {
    // BOLT 11, Examples, first invoice: "hex of data for signing" and "hex of SHA256 of the preimage".
    let parts = split(BOLT11_EXAMPLES[0]);
    let mut preimage = parts.hrp.as_bytes().to_vec();
    preimage.extend(five_bit_to_bytes(&parts.data).unwrap());
    assert_eq!(
        hex::encode(preimage),
        "6c6e62630b25fe64500d04444444444444444444444444444444444444444444444444444444444444444021a00008101820283038404800081018202830384048000810182028303840480810343f506c6561736520636f6e736964657220737570706f7274696e6720746869732070726f6a6563740500e08000"
    );
    assert_eq!(
        hex::encode(invoice_hash(&parts.hrp, &parts.data).unwrap()),
        "6daf4d488be41ce7cbb487cab1ef2975e5efcea879b20d421f0ef86b07cbb987"
    );
}

#[test]
fn five_bit_packing_pads_with_zero_bits() {
    assert_eq!(five_bit_to_bytes(&[]).unwrap(), Vec::<u8>::new());
    assert_eq!(five_bit_to_bytes(&[31]).unwrap(), vec![0b1111_1000]);
    assert_eq!(
        five_bit_to_bytes(&[31, 31]).unwrap(),
        vec![0xff, 0b1100_0000]
    );
    assert_eq!(five_bit_to_bytes(&[31; 8]).unwrap(), vec![0xff; 5]);
}

#[test]
fn values_above_31_and_unknown_nodes_are_refused() {
    let (signer, node_id) = bolt11_signer();
    assert!(matches!(
        signer.sign_invoice(&node_id, "lnbc", &[1, 2, 32]),
        Err(SignerError::InvalidInput { .. })
    ));
    assert!(matches!(
        signer.sign_invoice(&node_id, "", &[1]),
        Err(SignerError::InvalidInput { .. })
    ));
    let stranger = PublicKey::from_slice(
        &hex::decode("028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7").unwrap(),
    )
    .unwrap();
    assert_eq!(
        signer.sign_invoice(&stranger, "lnbc", &[1]),
        Err(SignerError::UnknownNode { node_id: stranger })
    );
}

#[test]
fn derived_node_invoice_signature_recovers_its_node_id() {
    let seed = crate::seed::Seed::from_bytes(&[7; 32]).unwrap();
    let signer = Signer::new(KeySource::Derived(seed), [0, 1]).unwrap();
    for node_id in signer.node_ids() {
        let data = [0u8, 1, 2, 3, 31, 30];
        let signature = signer.sign_invoice(&node_id, "lnbcrt", &data).unwrap();
        let hash = invoice_hash("lnbcrt", &data).unwrap();
        let recovered = secp256k1::SECP256K1
            .recover_ecdsa(&secp256k1::Message::from_digest(hash), &signature)
            .unwrap();
        assert_eq!(recovered, node_id);
    }
}

proptest! {
    #[test]
    fn any_data_signs_or_is_refused_without_panicking(hrp in ".{0,20}", data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (signer, node_id) = bolt11_signer();
        let result = signer.sign_invoice(&node_id, &hrp, &data);
        let valid = !hrp.is_empty() && hrp.is_ascii() && data.iter().all(|v| *v < 32);
        prop_assert_eq!(result.is_ok(), valid);
    }
}
