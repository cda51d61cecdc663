//! `error` (type 17) and `warning` (type 1): a channel id and free-form diagnostic data.

use crate::codec::{ChannelId, DecodeError, Reader, WireMessage, WriteExt};
use crate::tlv::TlvStream;

/// The most `data` a message can carry: 65535 minus type (2), `channel_id` (32) and `len` (2).
pub const MAX_DATA_LEN: usize = super::MAX_MESSAGE_LEN - 2 - 32 - 2;

/// Renders `data` for a log: printable ASCII (32..=126) as is, anything else as `\xNN`, since
/// the spec says not to print non-printable data verbatim.
fn render_printable(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for &b in data {
        if (32..=126).contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The first `MAX_DATA_LEN` bytes of `text`, cut on a character boundary.
fn bounded_text(text: &str) -> Vec<u8> {
    let mut end = text.len().min(MAX_DATA_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.as_bytes()[..end].to_vec()
}

/// `error` and `warning` share their layout and helpers; only the type and the meaning differ.
macro_rules! diagnostic_message {
    ($(#[$doc:meta])* $name:ident, $type:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// All zeros means "every channel with this peer".
            pub channel_id: ChannelId,
            /// Free-form, not necessarily text; keep under [`MAX_DATA_LEN`] bytes.
            pub data: Vec<u8>,
            pub extra_tlvs: TlvStream,
        }

        impl $name {
            /// About one channel. Text longer than [`MAX_DATA_LEN`] bytes is cut.
            pub fn new(channel_id: ChannelId, text: &str) -> Self {
                $name {
                    channel_id,
                    data: bounded_text(text),
                    extra_tlvs: TlvStream::new(),
                }
            }

            /// About the whole connection (all-zero channel id).
            pub fn connection_wide(text: &str) -> Self {
                Self::new(ChannelId::ALL, text)
            }

            pub fn is_connection_wide(&self) -> bool {
                self.channel_id == ChannelId::ALL
            }

            /// `data` made safe to log: non-printable bytes escaped as `\xNN`.
            pub fn text(&self) -> String {
                render_printable(&self.data)
            }
        }

        impl WireMessage for $name {
            const TYPE: u16 = $type;

            fn write_payload(&self, out: &mut Vec<u8>) {
                out.put_bytes(&self.channel_id.0);
                out.put_u16_prefixed(&self.data);
                self.extra_tlvs.write(out);
            }

            fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($name {
                    channel_id: r.read_channel_id()?,
                    data: r.read_u16_prefixed()?.to_vec(),
                    extra_tlvs: TlvStream::read(r, &[])?,
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                if self.is_connection_wide() {
                    write!(f, "all channels: {}", self.text())
                } else {
                    let id: String = self.channel_id.0.iter().map(|b| format!("{b:02x}")).collect();
                    write!(f, "channel {id}: {}", self.text())
                }
            }
        }
    };
}

diagnostic_message!(
    /// `error`: the sender fails the channel (or, connection-wide, all channels).
    ErrorMessage,
    17
);

diagnostic_message!(
    /// `warning`: something is wrong, but channels stay open.
    Warning,
    1
);
