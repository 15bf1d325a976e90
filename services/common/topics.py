"""The events topic: created once, at least 6 partitions, kept forever; and the
dead-letter topic beside it (records the aggregator could not fold)."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError

from services.common.config import CommonSettings

MIN_PARTITIONS = 6
TOPIC_CONFIG = {
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
}


def _record_config(settings: CommonSettings) -> dict[str, str]:
    """A kept-forever topic's config: with replicas, a record is acknowledged
    once `RIBAO_KAFKA_MIN_INSYNC` of them hold it, and an out-of-date replica
    never becomes leader (no acknowledged record lost to an unclean election)."""
    return TOPIC_CONFIG | {
        "min.insync.replicas": str(settings.kafka_min_insync),
        "unclean.leader.election.enable": "false",
    }


class TopicError(Exception):
    pass


def ensure_events_topic(
    settings: CommonSettings, partitions: int = MIN_PARTITIONS, replication: int | None = None
) -> str:
    """Creates the events topic if missing (`replication` default:
    RIBAO_KAFKA_REPLICATION); checks an existing one. Returns what it did."""
    replication = replication or settings.kafka_replication
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id="ribao-setup", request_timeout_ms=30_000
    )
    try:
        try:
            admin.create_topics(
                [
                    NewTopic(
                        settings.events_topic, partitions, replication, topic_configs=_record_config(settings)
                    )
                ]
            )
            return f"created topic {settings.events_topic} ({partitions} partitions)"
        except TopicAlreadyExistsError:
            pass
        found = admin.describe_topics([settings.events_topic])[0]
        count = len(found["partitions"])
        if count < MIN_PARTITIONS:
            raise TopicError(
                f"topic {settings.events_topic} has {count} partitions; at least {MIN_PARTITIONS} are needed"
            )
        resource = ConfigResource(ConfigResourceType.TOPIC, settings.events_topic)
        configs = admin.describe_configs([resource])
        retention = _config_value(configs, "retention.ms")
        if retention is not None and retention != "-1":
            raise TopicError(
                f"topic {settings.events_topic} has retention.ms={retention}; "
                "the event log must be kept forever (-1)"
            )
        return f"topic {settings.events_topic} exists ({count} partitions)"
    finally:
        admin.close()


def ensure_dead_letter_topic(settings: CommonSettings, replication: int | None = None) -> str:
    """Creates the dead-letter topic if missing (one partition, kept forever)."""
    replication = replication or settings.kafka_replication
    name = settings.dead_letter_topic_name
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id="ribao-setup", request_timeout_ms=30_000
    )
    try:
        admin.create_topics([NewTopic(name, 1, replication, topic_configs=_record_config(settings))])
        return f"created topic {name} (dead letters)"
    except TopicAlreadyExistsError:
        return f"topic {name} exists (dead letters)"
    finally:
        admin.close()


def ensure_subjects_topic(
    settings: CommonSettings, partitions: int = MIN_PARTITIONS, replication: int | None = None
) -> str:
    """Creates the aggregator's internal topic of subjects to recount
    (services/aggregator/subjects.py) if missing. A work queue, not the
    record: it keeps a week."""
    name = settings.subjects_topic_name
    replication = replication or settings.kafka_replication
    config = _record_config(settings) | {"retention.ms": str(7 * 86_400_000)}
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id="ribao-setup", request_timeout_ms=30_000
    )
    try:
        admin.create_topics([NewTopic(name, partitions, replication, topic_configs=config)])
        return f"created topic {name} ({partitions} partitions, subjects to recount)"
    except TopicAlreadyExistsError:
        return f"topic {name} exists (subjects to recount)"
    finally:
        admin.close()


def _config_value(responses: object, name: str) -> str | None:
    for response in responses if isinstance(responses, list) else [responses]:
        for resource in getattr(response, "resources", []):
            for entry in resource[4]:
                if entry[0] == name:
                    return str(entry[1])
    return None


def delete_topic(settings: CommonSettings, *topics: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="ribao-setup")
    try:
        admin.delete_topics(list(topics))
    finally:
        admin.close()
