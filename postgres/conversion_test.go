package postgres

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ego-contrib/offsetstore/internal/pgtest"
)

// scanConversionsVariable, set to 1, makes TestChangedOnTheWay_Complete
// run: it takes several minutes.
const scanConversionsVariable = "OFFSETSTORE_SCAN_CONVERSIONS"

// serverEncodings are the encodings a PostgreSQL database may have, but
// SQL_ASCII, which converts nothing, UTF8, and MULE_INTERNAL, to which the
// server does not convert from UTF8.
var serverEncodings = []string{
	"EUC_CN", "EUC_JP", "EUC_JIS_2004", "EUC_KR", "EUC_TW",
	"ISO_8859_5", "ISO_8859_6", "ISO_8859_7", "ISO_8859_8", "KOI8R", "KOI8U",
	"LATIN1", "LATIN2", "LATIN3", "LATIN4", "LATIN5", "LATIN6", "LATIN7", "LATIN8", "LATIN9", "LATIN10",
	"WIN866", "WIN874", "WIN1250", "WIN1251", "WIN1252", "WIN1253", "WIN1254", "WIN1255", "WIN1256", "WIN1257", "WIN1258",
}

// roundTripSQL defines roundtrip(encoding, lo, hi), which returns the code
// points in [lo, hi] that the server converts from UTF8 to encoding and
// back to others; those encoding lacks are skipped. It converts the whole
// range at once, and halves it until the ranges that come back changed, or
// fail, are single code points.
const roundTripSQL = `CREATE FUNCTION pg_temp.roundtrip(enc text, lo int, hi int) RETURNS SETOF int LANGUAGE plpgsql AS $$
DECLARE s text := ''; b bytea;
BEGIN
  FOR cp IN lo..hi LOOP
    IF cp NOT BETWEEN 55296 AND 57343 THEN s := s || chr(cp); END IF;
  END LOOP;
  IF s = '' THEN RETURN; END IF;
  b := convert_to(s, 'UTF8');
  BEGIN
    IF convert(convert(b, 'UTF8', enc), enc, 'UTF8') = b THEN RETURN; END IF;
    IF lo = hi THEN RETURN NEXT lo; RETURN; END IF;
  EXCEPTION WHEN OTHERS THEN
    IF lo = hi THEN RETURN; END IF;
  END;
  RETURN QUERY SELECT pg_temp.roundtrip(enc, lo, (lo + hi) / 2);
  RETURN QUERY SELECT pg_temp.roundtrip(enc, (lo + hi) / 2 + 1, hi);
END $$`

// TestChangedOnTheWay_Complete converts every code point from U+0080 to
// U+323AF (the last that Unicode 15 assigns) to each server encoding and
// back, on the test server, and checks that changedOnTheWay lists exactly
// those that come back as others. Run it with OFFSETSTORE_SCAN_CONVERSIONS=1
// when the server's major version changes.
func TestChangedOnTheWay_Complete(t *testing.T) {
	if os.Getenv(scanConversionsVariable) != "1" {
		t.Skipf("set %s=1 to convert every code point to every encoding (minutes)", scanConversionsVariable)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, roundTripSQL); err != nil {
		t.Fatal(err)
	}
	for _, enc := range serverEncodings {
		rows, err := conn.Query(ctx, `SELECT pg_temp.roundtrip($1, 128 + 4096 * b, least(128 + 4096 * b + 4095, 205743))
FROM generate_series(0, 50) AS b`, enc)
		if err != nil {
			t.Fatal(err)
		}
		changed, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		if want := changedOnTheWay[enc]; !slices.Equal(changed, want) {
			var got []string
			for _, c := range changed {
				got = append(got, "U+"+strings.ToUpper(strconv.FormatInt(int64(c), 16)))
			}
			t.Errorf("%s changes %v on the way; changedOnTheWay lists %U", enc, got, want)
		}
	}
}
