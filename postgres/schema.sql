-- The table of eGo's PostgreSQL offset store, which this package reads and
-- writes as it is: one row per (projection, shard). shard_number holds the
-- bit pattern of the uint64 shard, so shards from 2^63 up read as negative
-- numbers in SQL. timestamp is in Unix milliseconds.
CREATE TABLE IF NOT EXISTS offsets_store
(
    projection_name VARCHAR(255) NOT NULL,
    shard_number    BIGINT       NOT NULL,
    current_offset  BIGINT       NOT NULL,
    timestamp       BIGINT       NOT NULL,
    PRIMARY KEY (projection_name, shard_number)
);
