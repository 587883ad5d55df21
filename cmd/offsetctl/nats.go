package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/nats"
	"github.com/ego-contrib/offsetstore/postgres"
)

// natsBackend is NATS JetStream, through package nats.
func natsBackend(e *env) (*backend, error) {
	if e.schema != "" || e.table != postgres.DefaultTable {
		return nil, usagef("--schema and --table are for PostgreSQL: NATS takes --bucket")
	}
	// Name the servers, never the user or the password of a URL.
	var hosts []string
	for u := range strings.SplitSeq(e.url, ",") {
		parsed, err := url.Parse(strings.TrimSpace(u))
		if err != nil {
			return nil, usagef("cannot use --url (or $%s): %s", urlVariable, errors.Unwrap(err))
		}
		hosts = append(hosts, parsed.Host)
	}
	b := &backend{
		where:     "NATS at " + strings.Join(hosts, " or "),
		holder:    "bucket " + strconv.Quote(e.bucket),
		checkName: nats.CheckProjectionName,
		missing:   func(err error) bool { return errors.Is(err, jetstream.ErrStreamNotFound) },
	}
	b.newStore = func(create bool, clock func() time.Time) offsetstore.Admin {
		opts := []nats.Option{nats.WithBucket(e.bucket), nats.WithClock(clock)}
		if create {
			opts = append(opts, nats.WithCreateBucket())
		}
		return nats.NewOffsetStore(e.url, opts...)
	}
	b.describe = func(err error) string {
		var netErr net.Error
		switch {
		case b.missing(err):
			return fmt.Sprintf("%s does not exist in %s: check --bucket; import --execute creates it", b.holder, b.where)
		case errors.Is(err, natsgo.ErrNoServers):
			return fmt.Sprintf("cannot connect to %s: no server answered", b.where)
		case errors.As(err, &netErr) && netErr.Timeout():
			// The client gives up connecting before --timeout ends.
			return fmt.Sprintf("no answer from %s: the connection timed out", b.where)
		}
		// The store's errors quote --url, password and all.
		why := strings.ReplaceAll(err.Error(), e.url, strings.Join(hosts, ","))
		return fmt.Sprintf("%s: %s", b.where, storePrefix.ReplaceAllString(why, ""))
	}
	return b, nil
}
