package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// wordCache remembers the BPE ids of pieces already seen. Natural text is
// Zipfian, so a bounded cache serves most lookups; once a shard is full it
// stops growing rather than evicting, as HF's cache does, which keeps memory
// bounded on a 16M-word corpus and needs no bookkeeping.
//
// It is safe for concurrent use: pieces hash to shards, each with its own
// read-write lock, so goroutines tokenising in parallel rarely contend.
type wordCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

const (
	cacheShards   = 32
	cacheCapacity = 1 << 18 // pieces in total
)

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func newWordCache() *wordCache {
	c := &wordCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
	return c
}

func (c *wordCache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

func (c *wordCache) get(key string) ([]int32, bool) {
	s := c.shard(key)
	s.mu.RLock()
	ids, ok := s.m[key]
	s.mu.RUnlock()
	return ids, ok
}

// put stores copies of key and ids: callers keep ownership of their slice,
// and a key cut from a long text must not keep that text alive.
func (c *wordCache) put(key string, ids []int32) {
	s := c.shard(key)
	s.mu.Lock()
	if len(s.m) < cacheCapacity/cacheShards {
		if _, ok := s.m[key]; !ok {
			s.m[strings.Clone(key)] = append([]int32(nil), ids...)
		}
	}
	s.mu.Unlock()
}
