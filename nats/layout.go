package nats

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Version 0.1.0 of this module kept, at a projection's key <name>.p, a
// record of its last reset or deletion ("reset <value> <timestamp>
// <deleted before>" or "delete"), which applied to every shard written
// before it: its shard keys could hold values a reset had replaced, or a
// deletion removed. This version keeps each shard's offset in its own key
// and writes, at <name>.p, a fence whose content is the name of the call
// that wrote it: reading a bucket of 0.1.0 as its own, it would bring
// those values back. So Connect refuses such a bucket.

// checkLayout returns an error wrapping [ErrBucketSettings] if a
// projection's key <name>.p holds a record of version 0.1.0.
func (s *OffsetStore) checkLayout(ctx context.Context, sess *session) error {
	ctx, cancel := withCallTimeout(ctx)
	defer cancel()
	filter := s.keys.prefix + "*." + fenceToken
	msgs, _, err := sess.directLastOf(ctx, []string{filter})
	var fences []*message
	switch {
	case errors.Is(err, errTooManyKeys), errors.Is(err, errNoDirect):
		info, err := sess.streamInfo(ctx, filter)
		if err != nil {
			return err
		}
		subjects := make([]string, 0, len(info.State.Subjects))
		for subject := range info.State.Subjects {
			subjects = append(subjects, subject)
		}
		if fences, err = sess.lastOfEach(ctx, subjects); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		for _, m := range msgs {
			fences = append(fences, m)
		}
	}
	for _, m := range fences {
		k, ok := s.keys.parse(m.subject)
		if !ok || m.deleted() || !oldRecord(m.data) {
			continue
		}
		return fmt.Errorf("%w: bucket %q holds offsets as version 0.1.0 of this module kept them (projection %q has a reset or deletion record, %q, at key %s), which this version would read wrongly: "+
			"export them with offsetctl 0.1.0, then import them into a new bucket with this version (see docs/nats.md, Upgrading from 0.1.0)",
			ErrBucketSettings, s.bucket, k.name, m.data, strings.TrimPrefix(m.subject, "$KV."+s.bucket+"."))
	}
	return nil
}

// oldRecord reports whether data is a record of version 0.1.0.
func oldRecord(data []byte) bool {
	d := string(data)
	return d == "delete" || strings.HasPrefix(d, "reset ")
}
