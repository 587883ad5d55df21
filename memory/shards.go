package memory

import (
	"iter"
	"math/bits"
	"sync/atomic"
)

// shards holds the records of one projection. Writers change it with the
// store's lock held; [shards.read] reads most records without any lock.
//
// eGo numbers a projection's shards from 0 to n-1, so most records live in
// a dense table indexed by shard number: indexing costs a fraction of a map
// lookup, and a reset walks the table. A shard number far beyond the
// projection's count goes to sparse instead, so that one large number
// cannot make the table large: the table grows only to a shard number
// below twice the number of records, and memory follows the number of
// keys, not their values.
//
// A nil *shards is a projection with no records, for reading.
type shards struct {
	// seq is odd while a writer changes several records at once, as a
	// reset does, and moves with every such change. A lock-free reader
	// that finds it odd, or moved once it has read, may have seen half of
	// one and must not use what it read: this makes a reset atomic for
	// readers. A change to one record moves only that slot's ver, so
	// that writes to some shards do not slow readers of the others.
	seq atomic.Uint64
	// dense is replaced, never resized, so that a reader holding one may
	// index it; its slots are changed in place, atomically.
	dense atomic.Pointer[table]
	// sparse holds the records whose shard is not in dense. Only holders
	// of the store's lock use it: large shard numbers are rare.
	sparse map[uint64]record
	// n counts the records. Only holders of the store's lock use it.
	n int
}

type table struct {
	slots []slot
	// present has bit i%64 of word i/64 set when slots[i] holds a record.
	present []atomic.Uint64
	// sparse tells a lock-free reader that a shard beyond slots may be in
	// shards.sparse, so that it must look there with the lock held.
	sparse bool
}

type slot struct {
	// ver is odd while a writer changes this slot, its presence
	// included, and moves with every change: see shards.seq.
	ver       atomic.Uint64
	value     atomic.Int64
	timestamp atomic.Int64
}

type record struct {
	value     int64
	timestamp int64
}

func (s *slot) load() record { return record{s.value.Load(), s.timestamp.Load()} }

func (s *slot) store(r record) {
	s.value.Store(r.value)
	s.timestamp.Store(r.timestamp)
}

// read returns the record of shard without taking the store's lock. When
// needLock is true, it could not tell: a writer was changing the
// projection, or the shard may be sparse, and the caller must call
// [shards.get] with the lock held.
func (p *shards) read(shard uint64) (r record, ok, needLock bool) {
	if p == nil {
		return record{}, false, false
	}
	seq := p.seq.Load()
	if seq%2 != 0 {
		return record{}, false, true
	}
	t := p.dense.Load()
	if shard >= uint64(len(t.slots)) {
		return record{}, false, t.sparse
	}
	s := &t.slots[shard]
	ver := s.ver.Load()
	if ver%2 != 0 {
		return record{}, false, true
	}
	r, ok = t.get(shard)
	return r, ok, s.ver.Load() != ver || p.seq.Load() != seq
}

// get returns the record of shard. The store's lock must be held.
func (p *shards) get(shard uint64) (record, bool) {
	if p == nil {
		return record{}, false
	}
	if t := p.dense.Load(); shard < uint64(len(t.slots)) {
		return t.get(shard)
	}
	r, ok := p.sparse[shard]
	return r, ok
}

func (t *table) get(shard uint64) (record, bool) {
	if t.present[shard/64].Load()&(1<<(shard%64)) == 0 {
		return record{}, false
	}
	return t.slots[shard].load(), true
}

// len returns the number of records. The store's lock must be held.
func (p *shards) len() int {
	if p == nil {
		return 0
	}
	return p.n
}

// newShards returns a projection with no records.
func newShards() *shards {
	p := new(shards)
	p.dense.Store(new(table))
	return p
}

// set stores r as the record of shard, adding the shard if it is new. The
// store's lock must be held.
func (p *shards) set(shard uint64, r record) {
	t := p.dense.Load()
	if shard < uint64(len(t.slots)) {
		s := &t.slots[shard]
		s.ver.Add(1)
		word, bit := &t.present[shard/64], uint64(1)<<(shard%64)
		if word.Load()&bit == 0 {
			word.Or(bit)
			p.n++
		}
		s.store(r)
		s.ver.Add(1)
		return
	}
	if _, ok := p.sparse[shard]; ok {
		p.sparse[shard] = r
		return
	}
	p.n++
	if shard >= 2*uint64(p.n) {
		if p.sparse == nil {
			p.sparse = make(map[uint64]record)
		}
		p.sparse[shard] = r
		if !t.sparse {
			p.dense.Store(&table{slots: t.slots, present: t.present, sparse: true})
		}
		return
	}
	// Doubling keeps adding shards one by one linear; the bound keeps the
	// table under twice the records. Readers of the old table see the
	// store as it was before this write, which is still linearizable:
	// nobody writes to the old table again.
	next := p.grow(t, max(int(shard)+1, min(2*len(t.slots), 2*p.n)))
	next.present[shard/64].Or(1 << (shard % 64))
	next.slots[shard].store(r)
	p.dense.Store(next)
}

// grow returns a copy of t with n slots, moving into it the sparse records
// that now belong there.
func (p *shards) grow(t *table, n int) *table {
	next := &table{
		slots:   make([]slot, n),
		present: make([]atomic.Uint64, (n+63)/64),
	}
	for i := range t.present {
		word := t.present[i].Load()
		next.present[i].Store(word)
		for ; word != 0; word &= word - 1 {
			shard := i*64 + bits.TrailingZeros64(word)
			next.slots[shard].store(t.slots[shard].load())
		}
	}
	for shard := uint64(len(t.slots)); shard < uint64(n) && len(p.sparse) > 0; shard++ {
		if r, ok := p.sparse[shard]; ok {
			delete(p.sparse, shard)
			next.present[shard/64].Or(1 << (shard % 64))
			next.slots[shard].store(r)
		}
	}
	next.sparse = len(p.sparse) > 0
	return next
}

// delete removes the record of shard, if there is one. The store's lock
// must be held.
func (p *shards) delete(shard uint64) {
	if t := p.dense.Load(); shard < uint64(len(t.slots)) {
		s, word, bit := &t.slots[shard], &t.present[shard/64], uint64(1)<<(shard%64)
		if word.Load()&bit != 0 {
			s.ver.Add(1)
			word.And(^bit)
			s.store(record{})
			s.ver.Add(1)
			p.n--
		}
		return
	}
	if _, ok := p.sparse[shard]; ok {
		delete(p.sparse, shard)
		p.n--
	}
}

// setAll stores r as the record of every shard that has one, in one step
// for readers. The store's lock must be held.
func (p *shards) setAll(r record) {
	p.seq.Add(1)
	defer p.seq.Add(1)
	t := p.dense.Load()
	for i := range t.present {
		for word := t.present[i].Load(); word != 0; word &= word - 1 {
			t.slots[i*64+bits.TrailingZeros64(word)].store(r)
		}
	}
	for shard := range p.sparse {
		p.sparse[shard] = r
	}
}

// all yields every shard and its record, in no particular order. The
// store's lock must be held.
func (p *shards) all() iter.Seq2[uint64, record] {
	return func(yield func(uint64, record) bool) {
		if p == nil {
			return
		}
		t := p.dense.Load()
		for i := range t.present {
			for word := t.present[i].Load(); word != 0; word &= word - 1 {
				shard := i*64 + bits.TrailingZeros64(word)
				if !yield(uint64(shard), t.slots[shard].load()) {
					return
				}
			}
		}
		for shard, r := range p.sparse {
			if !yield(shard, r) {
				return
			}
		}
	}
}
