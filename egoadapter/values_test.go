package egoadapter_test

import (
	"math"

	"github.com/ego-contrib/offsetstore/egopb"
)

// edgeOffsets are offsets every field of which must cross the adapter
// unchanged, both ways: the extremes of each type, every bit of a shard
// number, names beyond ASCII, and what eGo writes.
var edgeOffsets = []*egopb.Offset{
	{ShardNumber: 0, ProjectionName: "p", Value: 0, Timestamp: 0},
	{ShardNumber: math.MaxUint64, ProjectionName: "accounts", Value: math.MinInt64, Timestamp: math.MinInt64},
	{ShardNumber: 1 << 63, ProjectionName: "accounts", Value: math.MaxInt64, Timestamp: math.MaxInt64},
	{ShardNumber: 270, ProjectionName: "comptes-réservés-口座-🚀", Value: -1, Timestamp: 1},
	{ShardNumber: 142, ProjectionName: "with\x00nul", Value: 1, Timestamp: -1},
	// eGo: Value an event time in Unix nanoseconds, Timestamp in Unix ms.
	{ShardNumber: 17, ProjectionName: "accounts-projection", Value: 1_764_150_000_123_456_789, Timestamp: 1_764_150_000_123},
	// eGo's rebuild from the zero time resets to a negative value.
	{ShardNumber: 3, ProjectionName: "accounts-projection", Value: -62_135_596_800_000, Timestamp: 1_764_150_000_123},
}
