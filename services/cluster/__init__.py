"""The local cluster (issue #15): three Kafka brokers, ZooKeeper, two ClickHouse
shards of two replicas, and two processes of each service, on this machine."""
