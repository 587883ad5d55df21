package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/ego-contrib/offsetstore/internal/natstest"
)

// runNATS starts a NATS server with JetStream, on a free port of
// 127.0.0.1, storing in a directory of t's, with the options configure
// sets, and returns its host and port; t's end stops it.
func runNATS(t *testing.T, configure func(*server.Options)) string {
	t.Helper()
	return strings.TrimPrefix(natstest.RunServerWith(t, configure).URL(), "nats://")
}

// A testCA is a certificate authority of a test's own.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate the CA signs, for a server on 127.0.0.1 or
// a client, and its key, as PEM.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "offsetctl test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// writeFiles writes each content to a file of dir named by its key, and
// returns their paths.
func writeFiles(t *testing.T, dir string, files map[string][]byte) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for name, content := range files {
		paths[name] = filepath.Join(dir, name)
		if err := os.WriteFile(paths[name], content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// natsSession imports a backup through args, then lists the projections,
// as an operator does on a new server: both must succeed.
func natsSession(t *testing.T, env []string, args ...string) {
	t.Helper()
	backup := `{"projectionName":"accounts","shardNumber":"17","value":"1795694395000000000","timestamp":"1795694395000"}` + "\n"
	imp := append([]string{"import", "-", "--execute"}, args...)
	r := runBinary(t, env, backup, imp...)
	wantCode(t, r, exitOK, imp...)
	list := append([]string{"projections"}, args...)
	r = runBinary(t, env, "", list...)
	wantCode(t, r, exitOK, list...)
	if !strings.HasPrefix(r.stdout, "PROJECTION") || !strings.Contains(r.stdout, "\naccounts ") {
		t.Errorf("offsetctl %s printed\n%s\nwant the projection imported", strings.Join(list, " "), r)
	}
}

// TestNATS_TLSWithClientCertificates runs offsetctl against a server that
// requires TLS and verifies its clients' certificates, issued by a CA
// that no system trusts: it works with the certificates given by flags or
// by the environment, and each missing piece fails in words that name the
// flag to give.
func TestNATS_TLSWithClientCertificates(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "offsetctl test CA")
	serverCert, serverKey := ca.issue(t, x509.ExtKeyUsageServerAuth)
	clientCert, clientKey := ca.issue(t, x509.ExtKeyUsageClientAuth)
	stranger := newTestCA(t, "another CA")
	strangerCert, strangerKey := stranger.issue(t, x509.ExtKeyUsageClientAuth)
	files := writeFiles(t, t.TempDir(), map[string][]byte{
		"ca.pem": ca.pem, "client.pem": clientCert, "client.key": clientKey,
		"stranger.pem": strangerCert, "stranger.key": strangerKey,
	})
	addr := runNATS(t, func(o *server.Options) {
		pair, err := tls.X509KeyPair(serverCert, serverKey)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca.pem)
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
		o.TLS, o.TLSVerify, o.TLSTimeout = true, true, 5
	})
	url := "nats://" + addr
	tlsFlags := []string{"--tls-ca", files["ca.pem"], "--tls-cert", files["client.pem"], "--tls-key", files["client.key"]}
	t.Run("flags", func(t *testing.T) {
		natsSession(t, nil, append([]string{"--url", url, "--bucket", "by_flags"}, tlsFlags...)...)
	})
	t.Run("environment", func(t *testing.T) {
		env := []string{natsURLVariable + "=tls://" + addr, tlsCAVariable + "=" + files["ca.pem"], tlsCertVariable + "=" + files["client.pem"], tlsKeyVariable + "=" + files["client.key"]}
		natsSession(t, env, "--bucket", "by_environment")
	})
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string
	}{
		{"no client certificate", []string{"--tls-ca", files["ca.pem"]},
			[]string{"cannot connect to NATS at " + addr + ": TLS: ", "a server that verifies its clients needs --tls-cert and --tls-key, of a CA it trusts"}},
		{"a client certificate of another CA", []string{"--tls-ca", files["ca.pem"], "--tls-cert", files["stranger.pem"], "--tls-key", files["stranger.key"]},
			[]string{"cannot connect to NATS at " + addr + ": TLS: ", "a server that verifies its clients needs --tls-cert and --tls-key, of a CA it trusts"}},
		{"no CA", []string{"--tls-cert", files["client.pem"], "--tls-key", files["client.key"]},
			[]string{"cannot connect to NATS at " + addr + ": its certificate: x509: certificate signed by unknown authority", "check --tls-ca"}},
		{"no TLS flag", nil, []string{"cannot connect to NATS at " + addr}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"projections", "--url", url, "--timeout", "5s"}, tc.flags...)
			r := runBinary(t, nil, "", args...)
			wantCode(t, r, exitFailure, args...)
			wantOneLineError(t, r, tc.want...)
		})
	}
}

// TestNATS_Credentials runs offsetctl against a server that requires an
// nkey user, and one, in operator mode, that requires a user's JWT, by
// --nkey and --creds or their variables: it works with the right ones,
// and is refused, saying so, without them.
func TestNATS_Credentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	userPub, _ := user.PublicKey()
	userSeed, _ := user.Seed()
	nkeyAddr := runNATS(t, func(o *server.Options) {
		o.Nkeys = []*server.NkeyUser{{Nkey: userPub}}
	})

	operator, _ := nkeys.CreateOperator()
	operatorPub, _ := operator.PublicKey()
	operatorClaims := jwt.NewOperatorClaims(operatorPub)
	account, _ := nkeys.CreateAccount()
	accountPub, _ := account.PublicKey()
	accountClaims := jwt.NewAccountClaims(accountPub)
	accountClaims.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	accountJWT, err := accountClaims.Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	// JetStream in operator mode needs a system account.
	system, _ := nkeys.CreateAccount()
	systemPub, _ := system.PublicKey()
	systemJWT, err := jwt.NewAccountClaims(systemPub).Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	operatorClaims.SystemAccount = systemPub
	jwtUser, _ := nkeys.CreateUser()
	jwtUserPub, _ := jwtUser.PublicKey()
	jwtUserSeed, _ := jwtUser.Seed()
	userJWT, err := jwt.NewUserClaims(jwtUserPub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(userJWT, jwtUserSeed)
	if err != nil {
		t.Fatal(err)
	}
	operatorJWT, err := operatorClaims.Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := jwt.DecodeOperatorClaims(operatorJWT)
	if err != nil {
		t.Fatal(err)
	}
	credsAddr := runNATS(t, func(o *server.Options) {
		resolver := &server.MemAccResolver{}
		for pub, claims := range map[string]string{accountPub: accountJWT, systemPub: systemJWT} {
			if err := resolver.Store(pub, claims); err != nil {
				t.Fatal(err)
			}
		}
		o.TrustedOperators = []*jwt.OperatorClaims{trusted}
		o.AccountResolver = resolver
		o.SystemAccount = systemPub
	})
	stranger, _ := nkeys.CreateUser()
	strangerSeed, _ := stranger.Seed()
	files := writeFiles(t, dir, map[string][]byte{"user.nk": userSeed, "user.creds": creds, "stranger.nk": strangerSeed})

	t.Run("nkey", func(t *testing.T) {
		natsSession(t, nil, "--url", "nats://"+nkeyAddr, "--nkey", files["user.nk"])
	})
	t.Run("nkey of the environment", func(t *testing.T) {
		natsSession(t, []string{natsURLVariable + "=nats://" + nkeyAddr, nkeyVariable + "=" + files["user.nk"]}, "--bucket", "by_environment")
	})
	t.Run("creds", func(t *testing.T) {
		natsSession(t, nil, "--url", "nats://"+credsAddr, "--creds", files["user.creds"])
	})
	t.Run("creds of the environment", func(t *testing.T) {
		natsSession(t, []string{natsURLVariable + "=nats://" + credsAddr, credsVariable + "=" + files["user.creds"]}, "--bucket", "by_environment")
	})
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"nkey server, no credentials", []string{"--url", "nats://" + nkeyAddr}},
		{"nkey server, another user", []string{"--url", "nats://" + nkeyAddr, "--nkey", files["stranger.nk"]}},
		{"creds server, no credentials", []string{"--url", "nats://" + credsAddr}},
		{"creds server, an nkey it does not know", []string{"--url", "nats://" + credsAddr, "--nkey", files["user.nk"]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"projections", "--timeout", "5s"}, tc.args...)
			r := runBinary(t, nil, "", args...)
			wantCode(t, r, exitFailure, args...)
			addr := strings.TrimPrefix(tc.args[1], "nats://")
			wantOneLineError(t, r, fmt.Sprintf("NATS at %s refused offsetctl: authorization violation: check --creds or --nkey", addr))
		})
	}
}

// streamReplicas returns how many replicas the stream of bucket has on
// the servers of url.
func streamReplicas(t *testing.T, url, bucket string) int {
	t.Helper()
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(t.Context(), "KV_"+bucket)
	if err != nil {
		t.Fatalf("Stream(KV_%s) = %v", bucket, err)
	}
	return stream.CachedInfo().Config.Replicas
}

// TestImport_Replicas checks that import --replicas creates the bucket
// with that many replicas, on a cluster of three servers, and that a
// server that cannot hold them refuses, changing nothing; without the
// flag the store's default holds, and a bucket that exists keeps its own.
func TestImport_Replicas(t *testing.T) {
	t.Parallel()
	line := `{"projectionName":"accounts","shardNumber":"17","value":"5"}` + "\n"
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		url := natstest.RunCluster(t).URL()
		args := []string{"import", "-", "--execute", "--url", url, "--bucket", "three", "--replicas", "3"}
		r := runBinary(t, nil, line, args...)
		wantCode(t, r, exitOK, args...)
		if got := streamReplicas(t, url, "three"); got != 3 {
			t.Errorf("after offsetctl %s, the bucket has %d replicas; want 3", strings.Join(args, " "), got)
		}
	})
	t.Run("single server", func(t *testing.T) {
		t.Parallel()
		url := natstest.RunServer(t).URL()
		args := []string{"import", "-", "--execute", "--url", url, "--bucket", "three", "--replicas", "3"}
		r := runBinary(t, nil, line, args...)
		// The store reports the server's refusal of the bucket's
		// settings as invalid input: a usage error.
		wantCode(t, r, exitUsage, args...)
		wantOneLineError(t, r, `create bucket "three"`, "replicas")
		args = []string{"import", "-", "--execute", "--url", url}
		r = runBinary(t, nil, line, args...)
		wantCode(t, r, exitOK, args...)
		if got := streamReplicas(t, url, "offsets_store"); got != 1 {
			t.Errorf("after offsetctl %s, the bucket has %d replicas; want the store's default on one server, 1", strings.Join(args, " "), got)
		}
		args = append(args, "--replicas", "3")
		r = runBinary(t, nil, line, args...)
		wantCode(t, r, exitOK, args...)
		if !strings.Contains(r.stderr, `bucket "offsets_store" exists in NATS at `) || !strings.Contains(r.stderr, "keeps its own replicas") {
			t.Errorf("offsetctl %s: stderr = %q; want a note that the bucket keeps its replicas", strings.Join(args, " "), r.stderr)
		}
	})
}

// TestImport_ReplicasZeroIsAUsageError: --replicas -1 is refused with
// "want 1 or more", but --replicas 0 is taken silently for "not given". A
// bucket of no replicas is no more possible than one of -1: both must be
// the same usage error, before anything is sent.
func TestImport_ReplicasZeroIsAUsageError(t *testing.T) {
	t.Parallel()
	line := `{"projectionName":"p","shardNumber":"1","value":"1","timestamp":"1"}` + "\n"
	args := []string{"import", "-", "--url", "nats://127.0.0.1:" + closedPort(t), "--replicas", "0"}
	r := offsetctl(t, line, args...)
	wantCode(t, r, exitUsage, args...)
	wantOneLineError(t, r, "--replicas 0", "want 1 or more")
}
