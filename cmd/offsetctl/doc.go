// Offsetctl shows and changes the projection offsets that eGo keeps in
// PostgreSQL, through package [github.com/ego-contrib/offsetstore/postgres]:
// where each projection is, a rewind to rebuild a read model, a delete, a
// backup and a restore, without SQL against a table whose shard column
// holds uint64 bit patterns.
//
// Usage:
//
//	offsetctl projections                     one row per projection
//	offsetctl offsets NAME                    one row per shard of NAME
//	offsetctl reset NAME --to VALUE [--shard N ...] [--execute]
//	offsetctl delete NAME [--shard N ...] [--execute]
//	offsetctl export [NAME ...] [--file FILE] [--output json|table]
//	offsetctl import FILE [--execute]
//
// reset, delete and import print what they would change, before and after,
// and change nothing unless given --execute; each change is one
// transaction. import --execute creates the table, and its schema, when
// they do not exist, so that a backup restores into a new database; every
// other command fails on a missing table, so that a typo in --schema or
// --table creates nothing.
//
// Every command takes --url (default $OFFSETSTORE_POSTGRES_URL), --schema,
// --table and --timeout (default 30s, 0 for none); those that print rows,
// every command but help, take --output table|json. These flags, unlike a
// command's own, may also come before the command, as in
// offsetctl --output json projections. Tables are aligned with
// [text/tabwriter], times are in UTC. Run offsetctl help COMMAND, or
// offsetctl COMMAND --help, for a command's flags and an example.
//
// Stop a projection before you reset, delete or import its offsets, and
// start it again after: eGo reads a projection's offsets only when it
// starts, and a running projection overwrites them with its next commit.
//
// # Formats
//
// export writes, and import reads, JSON lines: one offset per line, an
// object with the protobuf JSON names of [egopb.Offset]'s fields, and its
// 64-bit integers as decimal strings, as the protobuf JSON mapping writes
// them (so that tools which read JSON numbers as doubles, such as
// JavaScript, do not round them):
//
//	{"projectionName":"accounts","shardNumber":"0","value":"1042","timestamp":"1795691640000"}
//
// import reads any protobuf JSON of [egopb.Offset] (numbers or strings,
// camelCase or the proto's snake_case names; a missing field is zero, as
// the mapping says), and skips blank lines. --output json prints JSON
// lines too: offsets prints export's lines, which import reads back.
// export prints JSON lines unless given --output table, which shows its
// offsets as offsets does, with a column of projection names, for people
// (import reads JSON lines only).
//
// # Exit status
//
// 0 on success, 1 when the command failed (the database could not be
// reached, a projection has no offsets, a file has bad lines), 2 on a usage
// error (a missing argument, an unknown flag). Errors go to stderr, one line
// each, saying what failed and why; notes, such as what a dry run would
// have done, go to stderr too, so that stdout holds only rows.
//
// # Environment
//
// OFFSETSTORE_POSTGRES_URL is the default of --url.
//
// OFFSETCTL_NOW, for tests and reproducible output only, is an RFC 3339
// time that offsetctl takes as now: for ages and for the timestamp a reset
// writes. The tests set it to print the same output on every run. It is an
// environment variable rather than a flag so that it stays out of every
// command's help and out of operators' hands; SOURCE_DATE_EPOCH does the
// same for reproducible builds.
package main
