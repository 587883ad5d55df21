package memory

import (
	"iter"
	"math/bits"
	"slices"
)

// shards holds the records of one projection.
//
// eGo numbers a projection's shards from 0 to n-1, so most records live in
// dense, indexed by shard number: indexing a slice costs a fraction of a
// map lookup, and a reset walks the slice. A shard number far beyond the
// projection's count goes to sparse instead, so that one large number
// cannot make the slice large: dense is grown only to a shard number below
// twice the number of records, and memory still follows the number of
// keys, not their values.
//
// A shard number below len(dense) is never in sparse. A nil *shards is a
// projection with no records, for reading.
type shards struct {
	dense []record
	// present has bit i%64 of word i/64 set when dense[i] holds a record.
	present []uint64
	sparse  map[uint64]record
	n       int
}

type record struct {
	value     int64
	timestamp int64
}

func (p *shards) len() int {
	if p == nil {
		return 0
	}
	return p.n
}

func (p *shards) get(shard uint64) (record, bool) {
	if p == nil {
		return record{}, false
	}
	if shard < uint64(len(p.dense)) {
		return p.dense[shard], p.present[shard/64]&(1<<(shard%64)) != 0
	}
	r, ok := p.sparse[shard]
	return r, ok
}

// set stores r as the record of shard, adding the shard if it is new.
func (p *shards) set(shard uint64, r record) {
	if shard < uint64(len(p.dense)) {
		word, bit := &p.present[shard/64], uint64(1)<<(shard%64)
		if *word&bit == 0 {
			*word |= bit
			p.n++
		}
		p.dense[shard] = r
		return
	}
	if _, ok := p.sparse[shard]; ok {
		p.sparse[shard] = r
		return
	}
	if shard < 2*uint64(p.n+1) {
		p.grow(int(shard) + 1)
		p.set(shard, r)
		return
	}
	if p.sparse == nil {
		p.sparse = make(map[uint64]record)
	}
	p.sparse[shard] = r
	p.n++
}

// grow extends dense to n slots, moving into it the sparse records that
// now belong there. append's doubling keeps growing one shard at a time
// linear, and the move costs one lookup per new slot.
func (p *shards) grow(n int) {
	old := len(p.dense)
	p.dense = slices.Grow(p.dense, n-old)[:n]
	p.present = slices.Grow(p.present, (n+63)/64-len(p.present))[:(n+63)/64]
	if len(p.sparse) == 0 {
		return
	}
	for shard := uint64(old); shard < uint64(n); shard++ {
		if r, ok := p.sparse[shard]; ok {
			delete(p.sparse, shard)
			p.dense[shard] = r
			p.present[shard/64] |= 1 << (shard % 64)
		}
	}
}

// delete removes the record of shard, if there is one.
func (p *shards) delete(shard uint64) {
	if shard < uint64(len(p.dense)) {
		word, bit := &p.present[shard/64], uint64(1)<<(shard%64)
		if *word&bit != 0 {
			*word &^= bit
			p.dense[shard] = record{}
			p.n--
		}
		return
	}
	if _, ok := p.sparse[shard]; ok {
		delete(p.sparse, shard)
		p.n--
	}
}

// setAll stores r as the record of every shard that has one.
func (p *shards) setAll(r record) {
	for i, word := range p.present {
		for ; word != 0; word &= word - 1 {
			p.dense[i*64+bits.TrailingZeros64(word)] = r
		}
	}
	for shard := range p.sparse {
		p.sparse[shard] = r
	}
}

// all yields every shard and its record, in no particular order.
func (p *shards) all() iter.Seq2[uint64, record] {
	return func(yield func(uint64, record) bool) {
		if p == nil {
			return
		}
		for i, word := range p.present {
			for ; word != 0; word &= word - 1 {
				shard := i*64 + bits.TrailingZeros64(word)
				if !yield(uint64(shard), p.dense[shard]) {
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
