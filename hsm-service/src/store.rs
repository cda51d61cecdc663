//! The HSM's own durable state: an embedded redb database in a file of its own (never Redis: the
//! signer must not trust storage the rest of the cluster can write).
//!
//! Two tables:
//! - `channels`: [`ChannelRecord`] (setup + state) keyed by [`channel_key`] (node id, peer id,
//!   channel db id), bincode-encoded.
//! - `idempotency`: SHA256(client id) || u64be(request id) → (SHA256 of the request payload,
//!   response bytes), so a retried request gets the same answer instead of being executed
//!   twice.
//!
//! Durability (checked in redb 4.6's source, `WriteTransaction::commit` → `PageManager::commit`):
//! every write transaction is committed with [`redb::Durability::Immediate`] (redb's default, set
//! explicitly so a change of default cannot weaken it): the new commit header is written and the
//! file is `fdatasync`ed (`storage.flush()`) before `commit` returns. Two-phase commit is on as
//! well (one more sync per commit): redb documents that with single-phase commit an attacker who
//! controls part of the written data and can crash the process could make a commit land
//! partially, and the HSM does write data that peers choose. So every mutating function here has
//! the state on disk before it returns, and the caller sends its reply only after that.
//! Dropping the [`Store`] without anything else (a crash) loses nothing that was committed; redb's
//! file lock keeps a second process from opening the same file.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use sha2::{Digest, Sha256};

use crate::channels::ChannelRecord;
use crate::derivation::ChannelKeyId;

pub(crate) mod codec;

#[cfg(test)]
mod tests;

const CHANNELS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("channels");
const IDEMPOTENCY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("idempotency");

/// Why the store failed. Every variant means the operation did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened, read or written.
    #[error("database: {0}")]
    Database(#[from] Box<redb::Error>),
    /// A stored record does not decode (corruption or an incompatible version).
    #[error("stored record for {what} does not decode: {source}")]
    Corrupt {
        what: &'static str,
        source: bincode::Error,
    },
    /// A record could not be encoded.
    #[error("record does not encode: {0}")]
    Encode(bincode::Error),
    /// The client reused a request id for a different payload.
    #[error("request {} of client {client_id} was already used for another payload", hex::encode(.request_id))]
    IdempotencyConflict {
        client_id: String,
        request_id: [u8; 16],
    },
}

fn db_error(error: impl Into<redb::Error>) -> StoreError {
    StoreError::Database(Box::new(error.into()))
}

/// The 74-byte key of a channel: node id (33) || peer id (33) || u64be(channel db id).
pub fn channel_key(id: &ChannelKeyId) -> Vec<u8> {
    let mut key = Vec::with_capacity(74);
    key.extend_from_slice(&id.node_id.serialize());
    key.extend_from_slice(&id.peer_id.serialize());
    key.extend_from_slice(&id.channel_db_id.to_be_bytes());
    key
}

/// Identifies one client request for idempotent replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub client_id: String,
    pub request_id: [u8; 16],
    /// SHA256 of the request payload: the same id with another payload is a conflict.
    pub payload_digest: [u8; 32],
}

impl RequestKey {
    pub fn new(client_id: impl Into<String>, request_id: [u8; 16], payload: &[u8]) -> RequestKey {
        RequestKey {
            client_id: client_id.into(),
            request_id,
            payload_digest: Sha256::digest(payload).into(),
        }
    }

    /// SHA256(client id) || request id (16 bytes): fixed length, unambiguous for any client id.
    fn table_key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(32 + 16);
        key.extend_from_slice(&Sha256::digest(self.client_id.as_bytes()));
        key.extend_from_slice(&self.request_id);
        key
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredResponse {
    payload_digest: [u8; 32],
    response: Vec<u8>,
}

/// The durable store. Cheap to share by reference; redb serialises write transactions.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let db = Database::create(path).map_err(db_error)?;
        let store = Store { db };
        // Create both tables up front so read transactions never meet a missing table.
        store.write(|txn| {
            txn.open_table(CHANNELS).map_err(db_error)?;
            txn.open_table(IDEMPOTENCY).map_err(db_error)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// The record of a channel, if any.
    pub fn channel(&self, id: &ChannelKeyId) -> Result<Option<ChannelRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table = txn.open_table(CHANNELS).map_err(db_error)?;
        let Some(bytes) = table.get(channel_key(id).as_slice()).map_err(db_error)? else {
            return Ok(None);
        };
        let record = bincode::deserialize(bytes.value()).map_err(|source| StoreError::Corrupt {
            what: "channel",
            source,
        })?;
        Ok(Some(record))
    }

    /// Writes a channel record; durable when this returns.
    pub fn put_channel(&self, id: &ChannelKeyId, record: &ChannelRecord) -> Result<(), StoreError> {
        self.put_channels_with_response(&[(*id, record.clone())], None)
    }

    /// Writes channel records and, in the same transaction, the response to the request that
    /// changed them; durable when this returns.
    pub fn put_channels_with_response(
        &self,
        records: &[(ChannelKeyId, ChannelRecord)],
        response: Option<(&RequestKey, &[u8])>,
    ) -> Result<(), StoreError> {
        let encoded = records
            .iter()
            .map(|(id, record)| {
                bincode::serialize(record)
                    .map(|bytes| (channel_key(id), bytes))
                    .map_err(StoreError::Encode)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let stored_response = response
            .map(|(request, body)| encode_response(request, body).map(|v| (request, v)))
            .transpose()?;
        self.write(|txn| {
            let mut channels = txn.open_table(CHANNELS).map_err(db_error)?;
            for (key, bytes) in &encoded {
                channels
                    .insert(key.as_slice(), bytes.as_slice())
                    .map_err(db_error)?;
            }
            if let Some((request, value)) = &stored_response {
                let mut responses = txn.open_table(IDEMPOTENCY).map_err(db_error)?;
                responses
                    .insert(request.table_key().as_slice(), value.as_slice())
                    .map_err(db_error)?;
            }
            Ok(())
        })
    }

    /// The stored response to a request, if it was answered before. The same request id with
    /// another payload digest is [`StoreError::IdempotencyConflict`].
    pub fn response(&self, request: &RequestKey) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table = txn.open_table(IDEMPOTENCY).map_err(db_error)?;
        let Some(bytes) = table
            .get(request.table_key().as_slice())
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let stored: StoredResponse =
            bincode::deserialize(bytes.value()).map_err(|source| StoreError::Corrupt {
                what: "idempotent response",
                source,
            })?;
        if stored.payload_digest != request.payload_digest {
            return Err(StoreError::IdempotencyConflict {
                client_id: request.client_id.clone(),
                request_id: request.request_id,
            });
        }
        Ok(Some(stored.response))
    }

    /// Records the response to a request; durable when this returns.
    pub fn put_response(&self, request: &RequestKey, response: &[u8]) -> Result<(), StoreError> {
        let value = encode_response(request, response)?;
        self.write(|txn| {
            let mut responses = txn.open_table(IDEMPOTENCY).map_err(db_error)?;
            responses
                .insert(request.table_key().as_slice(), value.as_slice())
                .map_err(db_error)?;
            Ok(())
        })
    }

    /// Runs `body` in a write transaction committed with immediate durability (fsync) in two
    /// phases.
    fn write(
        &self,
        body: impl FnOnce(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(db_error)?;
        txn.set_durability(Durability::Immediate)
            .map_err(db_error)?;
        txn.set_two_phase_commit(true);
        body(&txn)?;
        txn.commit().map_err(db_error)
    }
}

fn encode_response(request: &RequestKey, response: &[u8]) -> Result<Vec<u8>, StoreError> {
    bincode::serialize(&StoredResponse {
        payload_digest: request.payload_digest,
        response: response.to_vec(),
    })
    .map_err(StoreError::Encode)
}
