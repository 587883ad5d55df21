package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/nats"
	"github.com/ego-contrib/offsetstore/postgres"
)

// The defaults of the flags of natsOptions.
const (
	credsVariable   = "OFFSETSTORE_NATS_CREDS"
	nkeyVariable    = "OFFSETSTORE_NATS_NKEY"
	tlsCertVariable = "OFFSETSTORE_NATS_TLS_CERT"
	tlsKeyVariable  = "OFFSETSTORE_NATS_TLS_KEY"
	tlsCAVariable   = "OFFSETSTORE_NATS_TLS_CA"
)

// bucketName is what nats.WithBucket documents a bucket's name to be.
var bucketName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// natsOptions are the flags that say how offsetctl proves who it is to
// NATS, and how it checks the servers: what a production server asks for
// beyond a user and password in the URL.
type natsOptions struct {
	creds, nkey, tlsCert, tlsKey, tlsCA string
}

// A natsFlag is a flag of natsOptions: its name, its variable, and where
// its value goes.
type natsFlag struct {
	name, variable string
	value          *string
}

func (o *natsOptions) flags() []natsFlag {
	return []natsFlag{
		{"creds", credsVariable, &o.creds},
		{"nkey", nkeyVariable, &o.nkey},
		{"tls-cert", tlsCertVariable, &o.tlsCert},
		{"tls-key", tlsKeyVariable, &o.tlsKey},
		{"tls-ca", tlsCAVariable, &o.tlsCA},
	}
}

func (o *natsOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.creds, "creds", "", "NATS: user credentials `FILE`, a JWT and its seed, as nsc writes it (default $"+credsVariable+")")
	fs.StringVar(&o.nkey, "nkey", "", "NATS: `FILE` holding the seed of an nkey user (default $"+nkeyVariable+")")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "NATS: client certificate `FILE`, PEM, for servers that verify clients; with --tls-key (default $"+tlsCertVariable+")")
	fs.StringVar(&o.tlsKey, "tls-key", "", "NATS: private key `FILE` of --tls-cert, PEM (default $"+tlsKeyVariable+")")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "NATS: `FILE` of the CA certificates, PEM, that the servers' certificates are checked against, instead of the system's (default $"+tlsCAVariable+")")
}

// set returns a flag of o that is set, such as --creds, or "" if none
// is: before connectOptions reads the environment, those of the command
// line.
func (o *natsOptions) set() string {
	for _, f := range o.flags() {
		if *f.value != "" {
			return "--" + f.name
		}
	}
	return ""
}

// connectOptions returns the options of nats.Connect that o asks for,
// reading the defaults from getenv and checking every file first, so that
// a mistake is a usage error that names the flag rather than a failure
// to connect.
func (o *natsOptions) connectOptions(getenv func(string) string) ([]natsgo.Option, error) {
	from := map[string]string{}
	for _, f := range o.flags() {
		from[f.name] = "--" + f.name
		if *f.value == "" {
			*f.value, from[f.name] = getenv(f.variable), "$"+f.variable
		}
	}
	var opts []natsgo.Option
	switch {
	case o.creds != "" && o.nkey != "":
		return nil, usagef("%s and %s: give one; a credentials file holds its own seed", from["creds"], from["nkey"])
	case o.creds != "":
		if _, err := os.ReadFile(o.creds); err != nil {
			return nil, usagef("%s %s: %v", from["creds"], displayName(o.creds), withoutPath(err))
		}
		opts = append(opts, natsgo.UserCredentials(o.creds))
	case o.nkey != "":
		opt, err := natsgo.NkeyOptionFromSeed(o.nkey)
		if err != nil {
			return nil, usagef("%s %s: %v", from["nkey"], displayName(o.nkey), withoutPath(err))
		}
		opts = append(opts, opt)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, usagef("--tls-cert and --tls-key go together: give both, or neither")
	}
	if o.tlsCert == "" && o.tlsCA == "" {
		return opts, nil
	}
	// A TLS flag makes TLS required: a server that does not offer it is
	// refused rather than sent the credentials in the clear.
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, usagef("%s %s and %s %s: %v", from["tls-cert"], displayName(o.tlsCert), from["tls-key"], displayName(o.tlsKey), withoutPath(err))
		}
		config.Certificates = []tls.Certificate{cert}
	}
	if o.tlsCA != "" {
		pem, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, usagef("%s %s: %v", from["tls-ca"], displayName(o.tlsCA), withoutPath(err))
		}
		config.RootCAs = x509.NewCertPool()
		if !config.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usagef("%s %s: no PEM certificate in it", from["tls-ca"], displayName(o.tlsCA))
		}
	}
	return append(opts, natsgo.Secure(config)), nil
}

// natsBackend is NATS JetStream, through package nats, on a connection
// offsetctl makes, with the credentials and TLS of the flags.
func natsBackend(e *env) (*backend, error) {
	if e.schema != "" || e.table != postgres.DefaultTable {
		return nil, usagef("--schema and --table are for PostgreSQL: NATS takes --bucket")
	}
	if e.replicasGiven && e.replicas < 1 {
		return nil, usagef("--replicas %d: want 1 or more", e.replicas)
	}
	// The rule of nats.WithBucket, which the store checks only once
	// connected: a name it refuses is refused before anything is sent.
	if !bucketName.MatchString(e.bucket) {
		return nil, usagef("bucket name %q: a bucket's name is one or more of the letters a-z A-Z, digits, '-' and '_'", e.bucket)
	}
	// Name the servers, never the user or the password of a URL.
	var hosts []string
	for u := range strings.SplitSeq(e.url, ",") {
		parsed, err := url.Parse(strings.TrimSpace(u))
		if err != nil {
			return nil, usagef("cannot use %s: %s", e.urlFrom, errors.Unwrap(err))
		}
		hosts = append(hosts, parsed.Host)
	}
	connectOpts, err := e.nats.connectOptions(e.getenv)
	if err != nil {
		return nil, err
	}
	b := &backend{
		where:     "NATS at " + strings.Join(hosts, " or "),
		holder:    "bucket " + strconv.Quote(e.bucket),
		checkName: nats.CheckProjectionName,
		missing:   func(err error) bool { return errors.Is(err, jetstream.ErrStreamNotFound) },
	}
	b.connect = func(ctx context.Context, create bool, clock func() time.Time) (offsetstore.Admin, error) {
		// As the store connects when it is given a URL: a bounded first
		// dial, then reconnections for as long as ctx lasts.
		timeout := 2 * time.Second
		if deadline, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(deadline))
		}
		opts := append([]natsgo.Option{
			natsgo.Name("offsetctl"),
			natsgo.Timeout(max(timeout, time.Millisecond)),
			natsgo.MaxReconnects(-1),
			natsgo.ReconnectWait(100 * time.Millisecond),
			// No write that failed is ever sent later, over a later one:
			// the store refuses a connection that would replay it.
			natsgo.ReconnectBufSize(-1),
		}, connectOpts...)
		nc, err := natsgo.Connect(e.url, opts...)
		if err != nil {
			return nil, err
		}
		storeOpts := []nats.Option{nats.WithConn(nc), nats.WithBucket(e.bucket), nats.WithClock(clock)}
		if create {
			storeOpts = append(storeOpts, nats.WithCreateBucket())
		}
		// Without --replicas, the store's default.
		if e.replicas > 0 {
			storeOpts = append(storeOpts, nats.WithReplicas(e.replicas))
		}
		s := &natsStore{nats.NewOffsetStore("", storeOpts...), nc}
		return s, s.Connect(ctx)
	}
	b.describe = func(err error) string {
		var netErr net.Error
		var certErr *tls.CertificateVerificationError
		// crypto/tls returns a TLS alert of the server's as a *net.OpError
		// whose Op is "remote error".
		var opErr *net.OpError
		for _, refused := range []error{natsgo.ErrAuthorization, natsgo.ErrAuthExpired, natsgo.ErrAuthRevoked} {
			if errors.Is(err, refused) {
				// The sentinel's words: the server's vary in case.
				return fmt.Sprintf("%s refused offsetctl: %s: check --creds or --nkey, or the user and password of --url", b.where, strings.TrimPrefix(refused.Error(), "nats: "))
			}
		}
		switch {
		case b.missing(err):
			return fmt.Sprintf("%s does not exist in %s: check --bucket; import --execute creates it", b.holder, b.where)
		case errors.Is(err, natsgo.ErrNoServers):
			return fmt.Sprintf("cannot connect to %s: no server answered", b.where)
		case errors.As(err, &certErr):
			return fmt.Sprintf("cannot connect to %s: its certificate: %v: check --tls-ca", b.where, certErr.Err)
		case errors.Is(err, natsgo.ErrTLS), errors.As(err, &opErr) && opErr.Op == "remote error":
			// A server that refuses a client's certificate says why in an
			// alert, or says nothing and closes the connection, which
			// the client then says.
			why := strings.TrimPrefix(err.Error(), natsgo.ErrTLS.Error()+": ")
			return fmt.Sprintf("cannot connect to %s: TLS: %s: a server that verifies its clients needs --tls-cert and --tls-key, of a CA it trusts", b.where, why)
		case errors.Is(err, natsgo.ErrSecureConnRequired):
			return fmt.Sprintf("cannot connect to %s: it requires TLS: give --tls-ca (or --tls-cert and --tls-key), or a tls:// URL", b.where)
		case errors.Is(err, natsgo.ErrSecureConnWanted):
			return fmt.Sprintf("cannot connect to %s: it does not offer TLS, which the TLS flags require", b.where)
		case errors.As(err, &netErr) && netErr.Timeout():
			// The client gives up connecting before --timeout ends.
			return fmt.Sprintf("no answer from %s: the connection timed out", b.where)
		}
		// The server's or the client's words, which may quote --url,
		// password and all.
		why := strings.ReplaceAll(err.Error(), e.url, strings.Join(hosts, ","))
		return fmt.Sprintf("%s: %s", b.where, storePrefix.ReplaceAllString(why, ""))
	}
	return b, nil
}

// natsStore is the store on a connection offsetctl made, which Disconnect
// closes: the store leaves a connection it was given open.
type natsStore struct {
	*nats.OffsetStore
	nc *natsgo.Conn
}

func (s *natsStore) Disconnect(ctx context.Context) error {
	defer s.nc.Close()
	return s.OffsetStore.Disconnect(ctx)
}
