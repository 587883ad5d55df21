// Offsetctl shows and changes the projection offsets that eGo keeps in a
// durable store of this module, PostgreSQL or NATS JetStream, through
// [github.com/ego-contrib/offsetstore.Admin]: where each projection is, in
// values and in time, and, read from eGo's events table, how far behind
// the events; a rewind to a value, to a time or by a duration, a delete, a
// backup, a restore, and the undo of a change from its own report.
// offsetctl --help, each command's --help, and docs/operating.md say how.
//
// # Caveats
//
// A value is shown as a time only when it falls from 2000-01-01 up to
// 2100-01-01 UTC as Unix nanoseconds, which is how eGo writes an event's
// time: offsetctl cannot know what else a writer put there.
//
// Lag is read from eGo's events table in PostgreSQL, of the shape
// ego-contrib's events store gives it; events kept elsewhere are not read.
//
// --by-duration and --shift-by read the shards' values, then write the new
// ones all at once; a write between the two is overwritten.
package main
