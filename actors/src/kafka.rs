//! Kafka adapters on `rdkafka` (bundled librdkafka): topic creation, a publisher that waits for
//! the broker's acknowledgement, and a consumer-group subscriber.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::topics::TopicSpec;

#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka client configuration: {0}")]
    Config(#[source] RdKafkaError),
    #[error("creating topic {topic}: {code}")]
    CreateTopic {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("kafka admin request failed: {0}")]
    Admin(#[source] RdKafkaError),
    #[error("publishing to {topic}: {source}")]
    Publish {
        topic: String,
        #[source]
        source: RdKafkaError,
    },
    #[error("subscribing: {0}")]
    Subscribe(#[source] RdKafkaError),
    #[error("consuming: {0}")]
    Consume(#[source] RdKafkaError),
    #[error("committing offset {offset} of {topic}/{partition}: {source}")]
    Commit {
        topic: String,
        partition: i32,
        offset: i64,
        #[source]
        source: RdKafkaError,
    },
}

/// Where the brokers are and how this client identifies itself.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list.
    pub brokers: String,
    pub client_id: String,
    /// Consumer-group session timeout: low in tests so rebalances are quick.
    pub session_timeout: Duration,
}

impl KafkaConfig {
    pub fn new(brokers: impl Into<String>, client_id: impl Into<String>) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            client_id: client_id.into(),
            session_timeout: Duration::from_secs(10),
        }
    }

    fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id);
        config
    }
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[TopicSpec]) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config
        .client_config()
        .create()
        .map_err(KafkaError::Config)?;
    let compact = [("cleanup.policy", "compact")];
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|spec| {
            let topic = NewTopic::new(spec.name, spec.partitions, TopicReplication::Fixed(1));
            if spec.compacted {
                compact
                    .iter()
                    .fold(topic, |topic, (key, value)| topic.set(key, value))
            } else {
                topic
            }
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(new_topics.iter(), &options)
        .await
        .map_err(KafkaError::Admin)?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(topic, "created kafka topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(KafkaError::CreateTopic { topic, code }),
        }
    }
    Ok(())
}

/// Publishes keyed records and waits until the broker has them.
pub struct Publisher {
    producer: FutureProducer,
    timeout: Duration,
}

impl Publisher {
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let producer = config
            .client_config()
            .set("acks", "all")
            .set("enable.idempotence", "false")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(KafkaError::Config)?;
        Ok(Publisher {
            producer,
            timeout: Duration::from_secs(30),
        })
    }

    /// Returns the partition and offset the record landed at.
    pub async fn publish(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
    ) -> Result<(i32, i64), KafkaError> {
        let record = FutureRecord::to(topic).key(key).payload(payload);
        self.producer
            .send(record, self.timeout)
            .await
            .map(|delivery| (delivery.partition, delivery.offset))
            .map_err(|(source, _)| KafkaError::Publish {
                topic: topic.to_owned(),
                source,
            })
    }
}

/// One record as a subscriber sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
}

/// A member of a consumer group. A group with no committed offsets starts at the earliest
/// record, so a new replica replays the whole log.
pub struct Subscriber {
    consumer: StreamConsumer,
}

impl Subscriber {
    /// Auto-commits offsets in the background: a record counts as done once it was delivered
    /// to the caller.
    pub fn new(config: &KafkaConfig, group: &str, topics: &[&str]) -> Result<Self, KafkaError> {
        Self::with_commit_mode(config, group, topics, true)
    }

    /// Commits nothing by itself: the caller calls [`Subscriber::commit`] once a record's
    /// effects are durable (at-least-once). Never committing at all makes a group that always
    /// starts from the earliest record.
    pub fn new_manual_commit(
        config: &KafkaConfig,
        group: &str,
        topics: &[&str],
    ) -> Result<Self, KafkaError> {
        Self::with_commit_mode(config, group, topics, false)
    }

    fn with_commit_mode(
        config: &KafkaConfig,
        group: &str,
        topics: &[&str],
        auto_commit: bool,
    ) -> Result<Self, KafkaError> {
        let consumer: StreamConsumer = config
            .client_config()
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set(
                "enable.auto.commit",
                if auto_commit { "true" } else { "false" },
            )
            .set(
                "session.timeout.ms",
                config.session_timeout.as_millis().to_string(),
            )
            .create()
            .map_err(KafkaError::Config)?;
        consumer.subscribe(topics).map_err(KafkaError::Subscribe)?;
        Ok(Subscriber { consumer })
    }

    /// Waits for the next record.
    pub async fn next(&self) -> Result<Record, KafkaError> {
        let message = self.consumer.recv().await.map_err(KafkaError::Consume)?;
        Ok(Record {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
        })
    }

    /// Marks `record` and everything before it in its partition as done for the group (the
    /// committed offset is the next one to read). Asynchronous: returns once queued, so a
    /// crash may still replay a few records (at-least-once).
    pub fn commit(&self, record: &Record) -> Result<(), KafkaError> {
        self.commit_with(record, CommitMode::Async)
    }

    /// Like [`Subscriber::commit`], but waits for the broker's answer (blocks the calling
    /// thread for a round trip): for the last commit before a subscriber is dropped.
    pub fn commit_sync(&self, record: &Record) -> Result<(), KafkaError> {
        self.commit_with(record, CommitMode::Sync)
    }

    fn commit_with(&self, record: &Record, mode: CommitMode) -> Result<(), KafkaError> {
        let commit_error = |source| KafkaError::Commit {
            topic: record.topic.clone(),
            partition: record.partition,
            offset: record.offset,
            source,
        };
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(
                &record.topic,
                record.partition,
                Offset::Offset(record.offset.saturating_add(1)),
            )
            .map_err(commit_error)?;
        self.consumer.commit(&offsets, mode).map_err(commit_error)
    }
}

/// The end offset (the offset the next record will get) of every partition of `topic`: what a
/// replaying consumer must reach to be caught up with the log as it was when it started.
pub fn end_offsets(
    config: &KafkaConfig,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<(i32, i64)>, KafkaError> {
    let consumer: rdkafka::consumer::BaseConsumer = config
        .client_config()
        .create()
        .map_err(KafkaError::Config)?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(KafkaError::Admin)?;
    let mut offsets = Vec::new();
    for topic_metadata in metadata.topics().iter().filter(|t| t.name() == topic) {
        for partition in topic_metadata.partitions() {
            let (_, high) = consumer
                .fetch_watermarks(topic, partition.id(), timeout)
                .map_err(KafkaError::Admin)?;
            offsets.push((partition.id(), high));
        }
    }
    Ok(offsets)
}

/// The offset `group` has committed on every partition of `topic` (`None` where it has not
/// committed yet), without joining the group: what a lag monitor compares with
/// [`end_offsets`] for a consumer it does not own.
pub fn committed_offsets(
    config: &KafkaConfig,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<(i32, Option<i64>)>, KafkaError> {
    let consumer: rdkafka::consumer::BaseConsumer = config
        .client_config()
        .set("group.id", group)
        .create()
        .map_err(KafkaError::Config)?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(KafkaError::Admin)?;
    let mut partitions = rdkafka::TopicPartitionList::new();
    for topic_metadata in metadata.topics().iter().filter(|t| t.name() == topic) {
        for partition in topic_metadata.partitions() {
            partitions.add_partition(topic, partition.id());
        }
    }
    let committed = consumer
        .committed_offsets(partitions, timeout)
        .map_err(KafkaError::Admin)?;
    Ok(committed
        .elements()
        .iter()
        .map(|element| match element.offset() {
            rdkafka::Offset::Offset(offset) => (element.partition(), Some(offset)),
            _ => (element.partition(), None),
        })
        .collect())
}
