-- eGo's events table in PostgreSQL, as ego-contrib's events store creates
-- it: github.com/tochemey/ego-contrib, file
-- eventstore/postgres/resources/eventstore_postgres.sql at commit
-- c467157141f9ff821a60610597c42d9b72876389 (2026-04-07). The columns,
-- types, key and indexes are that file's; the tests of offsetctl create
-- it to read lag from, in a schema of their own (search_path).
CREATE TABLE IF NOT EXISTS events_store
(
    persistence_id    VARCHAR(255) NOT NULL,
    sequence_number   BIGINT       NOT NULL,
    is_deleted        BOOLEAN      DEFAULT FALSE NOT NULL,
    event_payload     BYTEA        NOT NULL,
    event_manifest    VARCHAR(255) NOT NULL,
    timestamp         BIGINT       NOT NULL,
    shard_number      BIGINT       NOT NULL,
    encryption_key_id VARCHAR(255) DEFAULT '' NOT NULL,
    is_encrypted      BOOLEAN      DEFAULT FALSE NOT NULL,
    PRIMARY KEY (persistence_id, sequence_number)
);

CREATE INDEX IF NOT EXISTS idx_events_store_timestamp ON events_store (timestamp);

CREATE INDEX IF NOT EXISTS idx_events_store_shard ON events_store (shard_number);
