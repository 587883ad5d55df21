package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore/nats"
	"github.com/ego-contrib/offsetstore/postgres"
)

// defaultBucket is the bucket of --bucket when it is not given.
const defaultBucket = nats.DefaultBucket

// natsBackend is NATS JetStream, through package nats.
func natsBackend(e *env) (*backend, error) {
	if e.conn.schema != "" || e.conn.table != postgres.DefaultTable {
		return nil, usagef("--schema and --table are for PostgreSQL: NATS takes --bucket")
	}
	// Name the servers, never the user or the password of a URL.
	var hosts []string
	for u := range strings.SplitSeq(e.conn.url, ",") {
		parsed, err := url.Parse(strings.TrimSpace(u))
		if err != nil {
			return nil, usagef("cannot use --url (or $%s): %s", urlVariable, errors.Unwrap(err))
		}
		hosts = append(hosts, parsed.Host)
	}
	where := "NATS at " + strings.Join(hosts, " or ")
	open := func(create bool) *database {
		db := &database{where: where, holder: "bucket " + strconv.Quote(e.conn.bucket)}
		opts := []nats.Option{nats.WithBucket(e.conn.bucket), nats.WithClock(db.clock(e))}
		if create {
			opts = append(opts, nats.WithCreateBucket())
		}
		db.store = nats.NewOffsetStore(e.conn.url, opts...)
		db.explain = func(ctx context.Context, err error) error {
			if explained := e.explainCommon(ctx, err, where); explained != nil {
				return explained
			}
			// The store's errors quote --url, password and all.
			var netErr net.Error
			why := strings.ReplaceAll(err.Error(), e.conn.url, strings.Join(hosts, ","))
			msg := fmt.Sprintf("%s: %s", where, storePrefix.ReplaceAllString(why, ""))
			switch {
			case errors.Is(err, jetstream.ErrStreamNotFound):
				msg = fmt.Sprintf("%s does not exist in %s: check --bucket; import --execute creates it", db.holder, where)
			case errors.Is(err, natsgo.ErrNoServers):
				msg = fmt.Sprintf("cannot connect to %s: no server answered", where)
			case errors.As(err, &netErr) && netErr.Timeout():
				// The client gives up connecting before --timeout ends.
				msg = fmt.Sprintf("no answer from %s: the connection timed out", where)
			}
			return &explained{msg: msg, err: err}
		}
		return db
	}
	missing := func(err error) bool { return errors.Is(err, jetstream.ErrStreamNotFound) }
	return &backend{checkName: nats.CheckProjectionName, open: open, missing: missing}, nil
}
