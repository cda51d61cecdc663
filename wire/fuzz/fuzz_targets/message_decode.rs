//! Any byte string either decodes to a message that re-encodes and decodes to itself, or is an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lnfleet_wire::message;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = message::decode(data) {
        let again = message::decode(&msg.encode()).expect("re-encoded message must decode");
        assert_eq!(again, msg);
    }
});
