//! Any byte string either parses as a TLV stream that re-encodes to the same bytes, or is an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lnfleet_wire::tlv::TlvStream;

fuzz_target!(|data: &[u8]| {
    // Odd types are all "unknown but allowed"; 2 and 4 play known even types.
    if let Ok(stream) = TlvStream::decode(data, &[2, 4]) {
        assert_eq!(stream.encode(), data);
    }
});
