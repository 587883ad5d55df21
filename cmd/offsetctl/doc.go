// Offsetctl shows and changes the projection offsets that eGo keeps in a
// durable store of this module, PostgreSQL or NATS JetStream, through
// [github.com/ego-contrib/offsetstore.Admin]: where each projection is, in
// values and in time, a rewind to a value, to a time or by a duration, a
// delete, a backup and a restore.
//
//	offsetctl projections
//	offsetctl offsets NAME
//	offsetctl reset NAME (--to V | --to-time T | --by-duration D | --shift-by N) [--shard N ...] [--execute]
//	offsetctl delete NAME [--shard N ...] [--execute]
//	offsetctl export [NAME ...] [--file FILE]
//	offsetctl import FILE [--execute]
//	offsetctl completion bash|zsh|fish
//
// offsetctl --help, and each command's --help, say the rest: the flags,
// the formats, the exit status (0, 1 failure, 2 usage error) and the
// environment.
//
// # Caveats
//
// A value is shown as a time only when it falls from 2000-01-01 up to
// 2100-01-01 UTC as Unix nanoseconds, which is how eGo writes an event's
// time: offsetctl cannot know what else a writer put there.
//
// --by-duration and --shift-by read the shards' values, then write the new
// ones all at once; a write between the two is overwritten. Stop a
// projection before changing its offsets, as for every change: eGo reads
// them only when a projection starts.
//
// OFFSETCTL_NOW, an RFC 3339 time taken as now, is for tests and
// reproducible output only.
package main
