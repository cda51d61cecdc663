//! Core Lightning's socket framing: requests are a stream of JSON values with nothing required
//! between them (pyln-client writes bare objects); every answer is one JSON object followed by
//! `"\n\n"`, which is how clients find its end.

use serde_json::Value;

/// Bytes a client may leave unparsed before we give up on it (a request larger than this is not
/// one we serve).
pub const MAX_PENDING_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("request larger than {MAX_PENDING_BYTES} bytes")]
    TooLarge,
}

/// Splits a byte stream into JSON values as they become complete.
#[derive(Debug, Default)]
pub struct JsonStream {
    buffer: Vec<u8>,
}

impl JsonStream {
    pub fn new() -> Self {
        JsonStream::default()
    }

    /// Appends bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete value, `Ok(None)` if more bytes are needed. After an error the stream
    /// is unusable: the caller answers a parse error and closes, as Core Lightning does.
    pub fn next_value(&mut self) -> Result<Option<Value>, FramingError> {
        let start = self
            .buffer
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(self.buffer.len());
        self.buffer.drain(..start);
        if self.buffer.is_empty() {
            return Ok(None);
        }
        let mut values = serde_json::Deserializer::from_slice(&self.buffer).into_iter::<Value>();
        match values.next() {
            Some(Ok(value)) => {
                let used = values.byte_offset();
                self.buffer.drain(..used);
                Ok(Some(value))
            }
            Some(Err(error)) if error.is_eof() => {
                if self.buffer.len() > MAX_PENDING_BYTES {
                    return Err(FramingError::TooLarge);
                }
                Ok(None)
            }
            Some(Err(error)) => Err(error.into()),
            None => Ok(None),
        }
    }

    pub fn pending_bytes(&self) -> usize {
        self.buffer.len()
    }
}

/// One answer as it goes on the socket.
pub fn frame_response(response: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(response).unwrap_or_default();
    bytes.extend_from_slice(b"\n\n");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn back_to_back_objects_split_at_any_chunk_boundary() {
        let wire = br#"{"id":1,"method":"getinfo"}{"id":2,"method":"help","params":{}}  {"id":3}"#;
        for cut in 0..wire.len() {
            let mut stream = JsonStream::new();
            let mut seen = Vec::new();
            stream.push(&wire[..cut]);
            while let Some(value) = stream.next_value().unwrap() {
                seen.push(value["id"].clone());
            }
            stream.push(&wire[cut..]);
            while let Some(value) = stream.next_value().unwrap() {
                seen.push(value["id"].clone());
            }
            assert_eq!(seen, vec![json!(1), json!(2), json!(3)], "cut at {cut}");
            assert_eq!(stream.pending_bytes(), 0);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_wait() {
        let mut stream = JsonStream::new();
        stream.push(b"{\"id\":1}} nope");
        assert!(stream.next_value().unwrap().is_some());
        assert!(stream.next_value().is_err());
    }

    #[test]
    fn responses_end_with_a_blank_line() {
        let framed = frame_response(&json!({"id": 1, "result": {}}));
        assert!(framed.ends_with(b"}\n\n"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut stream = JsonStream::new();
            for chunk in chunks {
                stream.push(&chunk);
                while let Ok(Some(_)) = stream.next_value() {}
            }
        }
    }
}
