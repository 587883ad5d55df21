// Command postgres runs the PostgreSQL offset store against the server of
// $OFFSETSTORE_POSTGRES_URL: it connects as eGo does (with Ping), commits
// offsets alone and together with a read model row, reads them back and
// rewinds the projection. It works in the schema offsetstore_example,
// which it creates, and leaves it for you to look at.
//
//	OFFSETSTORE_POSTGRES_URL=postgres://user:password@localhost:5432/db go run ./examples/postgres
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/postgres"
)

func main() {
	url := os.Getenv("OFFSETSTORE_POSTGRES_URL")
	if url == "" {
		log.Fatal("set OFFSETSTORE_POSTGRES_URL to a PostgreSQL URL, such as postgres://user:password@localhost:5432/db")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, url, "offsetstore_example", os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, url, schema string, out io.Writer) error {
	// The application's own pool, shared with the store: the store leaves
	// it open on Disconnect.
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	// With WithPool the connection string is empty: the pool says where.
	store := postgres.NewOffsetStore("",
		postgres.WithPool(pool),
		postgres.WithSchema(schema),
		postgres.WithCreateTable(), // or run postgres/schema.sql once
	)
	// eGo never calls Connect: it pings the store before a projection
	// starts, and Ping connects.
	if err := store.Ping(ctx); err != nil {
		return err
	}
	defer store.Disconnect(context.Background())

	// A projection that commits its offset on its own.
	err = store.WriteOffset(ctx, &egopb.Offset{
		ProjectionName: "accounts", ShardNumber: 0, Value: 15, Timestamp: time.Now().UnixMilli(),
	})
	if err != nil {
		return err
	}

	// A projection that commits its offset with the read model row the
	// event produced: both or neither, so a crash never applies an event
	// twice or skips one.
	balances := pgx.Identifier{schema, "balances"}.Sanitize()
	if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+balances+" (account TEXT PRIMARY KEY, amount BIGINT NOT NULL)"); err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO "+balances+" VALUES ('alice', 100) ON CONFLICT (account) DO UPDATE SET amount = EXCLUDED.amount")
		if err != nil {
			return err
		}
		return store.WriteOffsetTx(ctx, tx, &egopb.Offset{
			ProjectionName: "accounts", ShardNumber: 1, Value: 42, Timestamp: time.Now().UnixMilli(),
		})
	})
	if err != nil {
		return err
	}

	for shard := range uint64(2) {
		current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: shard})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "accounts shard %d: offset %d\n", shard, current.GetValue())
	}

	// Rewind the projection, every shard at once, to rebuild its read
	// model (stop it first: eGo reads offsets when a projection starts).
	if err := store.ResetOffset(ctx, "accounts", 0); err != nil {
		return err
	}
	summaries, err := store.Projections(ctx)
	if err != nil {
		return err
	}
	for _, s := range summaries {
		fmt.Fprintf(out, "%s after reset: %d shards, offsets %d to %d\n", s.Name, s.Shards, s.MinValue, s.MaxValue)
	}
	return nil
}
