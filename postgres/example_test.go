package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/postgres"
)

// The connection string is pgx's: a URL or key=value pairs. For failover,
// name every host and add target_session_attrs=read-write:
//
//	postgres://app:secret@db-a:5432,db-b:5432/app?target_session_attrs=read-write
//
// Behind PgBouncer in transaction pooling mode, add default_query_exec_mode=exec.
func ExampleNewOffsetStore() {
	ctx := context.Background()
	store := postgres.NewOffsetStore(os.Getenv("OFFSETSTORE_POSTGRES_URL"),
		postgres.WithSchema("app"),
		postgres.WithCreateTable(), // or run schema.sql once
	)
	// eGo calls Ping, never Connect, before a projection starts: Ping connects.
	if err := store.Ping(ctx); err != nil {
		log.Fatal(err)
	}
	// eGo never calls Disconnect: the program does.
	defer store.Disconnect(ctx)

	err := store.WriteOffset(ctx, &egopb.Offset{
		ProjectionName: "accounts", ShardNumber: 142, Value: 15, Timestamp: time.Now().UnixMilli(),
	})
	if err != nil {
		log.Fatal(err)
	}
	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 142})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(current.GetValue())
}

// With WithPool, the store runs on the application's own pool, and the
// connection string is empty: the pool says where to connect.
func ExampleWithPool() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("OFFSETSTORE_POSTGRES_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	store := postgres.NewOffsetStore("", postgres.WithPool(pool))
	if err := store.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer store.Disconnect(ctx) // leaves pool open
}

// A projection runner of your own commits its offset in the transaction
// that writes the read model: both commit or neither does. (eGo's runner
// commits offsets itself, with WriteOffset: under eGo, make handlers
// idempotent instead.)
func ExampleOffsetStore_WriteOffsetTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("OFFSETSTORE_POSTGRES_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store := postgres.NewOffsetStore("", postgres.WithPool(pool))
	if err := store.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer store.Disconnect(ctx)

	// One event of shard 17, at Unix nanosecond at: 25 credited to alice.
	const shard, at, account, amount = 17, int64(1_764_150_000_000_000_001), "alice", 25
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE balances SET amount = amount + $1 WHERE account = $2", amount, account)
		if err != nil {
			return err
		}
		return store.WriteOffsetTx(ctx, tx, &egopb.Offset{
			ProjectionName: "balances", ShardNumber: shard, Value: at, Timestamp: time.Now().UnixMilli(),
		})
	})
	if err != nil {
		log.Fatal(err)
	}
}
