"""Event definitions shared by every service: the v1 envelope, the ten event
types of the contract, division codes, and the record written to Kafka."""
