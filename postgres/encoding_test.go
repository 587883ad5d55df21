package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// encodingDatabase creates a database of the given server encoding on the
// test server, under the C locale (which every encoding accepts), drops it
// when the test ends, and returns its URL.
func encodingDatabase(t *testing.T, encoding string) string {
	t.Helper()
	base := pgtest.URL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "offsetstore_test_" + strings.ToLower(encoding) + "_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(t.Context(), `CREATE DATABASE `+ident+` ENCODING '`+encoding+`' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		t.Fatalf("CREATE DATABASE %s ENCODING %s: %v", name, encoding, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestOffsetStore_Encodings runs the conformance suite on a SQL_ASCII
// database (TestOffsetStore_Conformance runs it on UTF8), and the case of
// issue 15 on databases of several encodings. On SQL_ASCII VARCHAR(255)
// counts bytes: "é" and 254 spaces is 256 bytes, which PostgreSQL would
// cut silently to fit, its excess being spaces, onto the name of another
// projection, "é" and 253 spaces; the store must refuse it with
// ErrInvalidArgument before sending it, and change nothing. On UTF8 both
// names fit. On LATIN1, pgx's connections speak LATIN1 (it leaves
// client_encoding at the database's), so the server would read a name's
// UTF-8 bytes as other characters: the store refuses names beyond ASCII;
// with client_encoding=UTF8 in the URL, the server converts, and refuses a
// character LATIN1 lacks, changing nothing.
func TestOffsetStore_Encodings(t *testing.T) {
	for _, tc := range []struct {
		name, encoding, clientEncoding string
		// whether the store keeps "é" + 253 spaces, and "é" + 254 spaces
		keeps253, keeps254 bool
	}{
		{"SQL_ASCII", "SQL_ASCII", "", true, false},
		{"UTF8", "UTF8", "", true, true},
		{"LATIN1", "LATIN1", "", false, false},
		{"LATIN1/client_encoding=UTF8", "LATIN1", "UTF8", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each on a database of its own
			dbURL := encodingDatabase(t, tc.encoding)
			if tc.clientEncoding != "" {
				dbURL = withRuntimeParam(t, dbURL, "client_encoding", tc.clientEncoding)
			}
			newStoreOn := func(t *testing.T) *postgres.OffsetStore {
				var b [6]byte
				_, _ = rand.Read(b[:])
				return postgres.NewOffsetStore(dbURL, postgres.WithSchema("s_"+hex.EncodeToString(b[:])), postgres.WithCreateTable())
			}
			// The suite's cases write names beyond ASCII that LATIN1
			// lacks; on UTF8, TestOffsetStore_Conformance runs it.
			if tc.encoding == "SQL_ASCII" {
				t.Run("Conformance", func(t *testing.T) {
					offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore { return newStoreOn(t) })
				})
			}
			t.Run("NameOfBytesPastTheColumn", func(t *testing.T) {
				ctx := t.Context()
				store := newStoreOn(t)
				if err := store.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				defer store.Disconnect(context.Background())
				mustWrite(t, store, offset("ascii", 0, 1, 1))
				other := "é" + strings.Repeat(" ", 253)
				name := "é" + strings.Repeat(" ", 254)
				var kept []string
				for _, c := range []struct {
					name  string
					value int64
					keeps bool
					what  string
				}{{other, 1, tc.keeps253, `"é" + 253 spaces`}, {name, 2, tc.keeps254, `"é" + 254 spaces`}} {
					o := offset(c.name, 0, c.value, c.value)
					err := store.WriteOffset(ctx, o)
					switch {
					case c.keeps && err != nil:
						t.Errorf("WriteOffset(ctx, {%s}) on %s = %v; want <nil>: the column holds it exactly", c.what, tc.name, err)
					case !c.keeps && !errors.Is(err, offsetstore.ErrInvalidArgument):
						t.Errorf("WriteOffset(ctx, {%s}) on %s = %v; want an error wrapping offsetstore.ErrInvalidArgument: the column cannot hold it exactly", c.what, tc.name, err)
					}
					if c.keeps {
						kept = append(kept, c.name)
						wantOffset(t, store, c.name, 0, o)
						continue
					}
					for _, call := range []struct {
						name string
						err  error
					}{
						{"ResetOffset", store.ResetOffset(ctx, c.name, 0)},
						{"WriteOffsets", store.WriteOffsets(ctx, []*egopb.Offset{o})},
						{"DeleteShards", second(store.DeleteShards(ctx, c.name, nil))},
					} {
						if !errors.Is(call.err, offsetstore.ErrInvalidArgument) {
							t.Errorf("%s(ctx, %s) on %s = %v; want an error wrapping offsetstore.ErrInvalidArgument", call.name, c.what, tc.name, call.err)
						}
					}
					if _, err := store.GetCurrentOffset(ctx, id(c.name, 0)); !errors.Is(err, offsetstore.ErrInvalidArgument) {
						t.Errorf("GetCurrentOffset(ctx, {%s}) on %s = %v; want an error wrapping offsetstore.ErrInvalidArgument", c.what, tc.name, err)
					}
					tx, err := newPool(t, dbURL).Begin(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if err := store.WriteOffsetTx(ctx, tx, o); !errors.Is(err, offsetstore.ErrInvalidArgument) {
						t.Errorf("WriteOffsetTx(ctx, tx, {%s}) on %s = %v; want an error wrapping offsetstore.ErrInvalidArgument", c.what, tc.name, err)
					}
					if err := tx.Commit(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if tc.keeps253 {
					wantOffset(t, store, other, 0, offset(other, 0, 1, 1))
				}
				lacking := "名前"
				if tc.encoding == "LATIN1" {
					if err := store.WriteOffset(ctx, offset(lacking, 0, 1, 1)); !errors.Is(err, offsetstore.ErrInvalidArgument) {
						t.Errorf("WriteOffset(ctx, {%q}) on %s = %v; want an error wrapping offsetstore.ErrInvalidArgument", lacking, tc.name, err)
					}
				}
				names, err := projectionNames(ctx, store)
				if want := append([]string{"ascii"}, kept...); err != nil || !slices.Equal(names, want) {
					t.Errorf("Projections(ctx) on %s = %q, %v; want %q: nothing stored under a name refused", tc.name, names, err, want)
				}
			})
		})
	}
}

// TestOffsetStore_Encodings_CharacterStoredAsAnother: on an EUC_JP
// database, through a client_encoding UTF8 connection, PostgreSQL stores
// U+00A6 (¦) as a character it reads back as U+FFE4 (￤), so that "x¦"
// would write the offsets of "x￤". The store must refuse "x¦" with
// ErrInvalidArgument, in every call, and leave "x￤" as written.
func TestOffsetStore_Encodings_CharacterStoredAsAnother(t *testing.T) {
	ctx := t.Context()
	dbURL := withRuntimeParam(t, encodingDatabase(t, "EUC_JP"), "client_encoding", "UTF8")
	kept, refused := "x\uFFE4", "x\u00A6"
	var echoed string
	if err := newPool(t, dbURL).QueryRow(ctx, `SELECT $1::text`, refused).Scan(&echoed); err != nil || echoed != kept {
		t.Fatalf("the server gives %q back as %q, %v; want %q, or the test checks nothing", refused, echoed, err, kept)
	}
	store := postgres.NewOffsetStore(dbURL, postgres.WithSchema(pgtest.Schema(t)), postgres.WithCreateTable())
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())
	written := offset(kept, 0, 1, 1)
	mustWrite(t, store, written)
	o := offset(refused, 0, 2, 2)
	tx, err := newPool(t, dbURL).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	_, getErr := store.GetCurrentOffset(ctx, id(refused, 0))
	for _, call := range []struct {
		name string
		err  error
	}{
		{"WriteOffset", store.WriteOffset(ctx, o)},
		{"WriteOffsets", store.WriteOffsets(ctx, []*egopb.Offset{o, offset("ascii", 0, 2, 2)})},
		{"ResetOffset", store.ResetOffset(ctx, refused, 0)},
		{"DeleteShards", second(store.DeleteShards(ctx, refused, nil))},
		{"GetCurrentOffset", getErr},
		{"WriteOffsetTx", store.WriteOffsetTx(ctx, tx, o)},
	} {
		if !errors.Is(call.err, offsetstore.ErrInvalidArgument) {
			t.Errorf("%s of %q on EUC_JP with client_encoding UTF8 = %v; want an error wrapping offsetstore.ErrInvalidArgument: the database would store it as %q", call.name, refused, call.err, kept)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantOffset(t, store, kept, 0, written)
	names, err := projectionNames(ctx, store)
	if err != nil || !slices.Equal(names, []string{kept}) {
		t.Errorf("Projections(ctx) = %q, %v; want %q: nothing stored under a name refused", names, err, []string{kept})
	}
}
