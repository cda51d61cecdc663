//! `peer_storage` (type 7) and `peer_storage_retrieval` (type 9): an opaque, encrypted backup
//! blob a peer offering `option_provide_storage` keeps for us and hands back on reconnection.

use crate::codec::{DecodeError, Reader, WireMessage, WriteExt};
use crate::tlv::TlvStream;

/// The spec's limit on `blob` (senders should pad to exactly this, to hide the real size).
pub const MAX_BLOB_LEN: usize = 65531;

macro_rules! blob_message {
    ($(#[$doc:meta])* $name:ident, $type:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// At most [`MAX_BLOB_LEN`] bytes.
            pub blob: Vec<u8>,
            pub extra_tlvs: TlvStream,
        }

        impl $name {
            /// `None` when `blob` is over [`MAX_BLOB_LEN`].
            pub fn new(blob: Vec<u8>) -> Option<Self> {
                (blob.len() <= MAX_BLOB_LEN).then(|| $name {
                    blob,
                    extra_tlvs: TlvStream::new(),
                })
            }
        }

        impl WireMessage for $name {
            const TYPE: u16 = $type;

            fn write_payload(&self, out: &mut Vec<u8>) {
                out.put_u16_prefixed(&self.blob);
                self.extra_tlvs.write(out);
            }

            fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($name {
                    blob: r.read_u16_prefixed()?.to_vec(),
                    extra_tlvs: TlvStream::read(r, &[])?,
                })
            }
        }
    };
}

blob_message!(
    /// `peer_storage`: please keep this blob for me.
    PeerStorage,
    7
);

blob_message!(
    /// `peer_storage_retrieval`: the last blob you asked me to keep.
    PeerStorageRetrieval,
    9
);
