package main

import (
	"testing"
	"time"

	"github.com/koujing/koujing/engine"
)

func TestCacheFlags(t *testing.T) {
	tests := []struct {
		size string
		ttl  time.Duration
		want engine.CacheOptions
		err  bool
	}{
		{"256MiB", time.Minute, engine.CacheOptions{MaxBytes: 256 << 20, TTL: time.Minute}, false},
		{"1GB", 0, engine.CacheOptions{MaxBytes: 1e9}, false},
		{"0", time.Minute, engine.CacheOptions{}, false},
		{" 0 ", 0, engine.CacheOptions{}, false},
		{"lots", time.Minute, engine.CacheOptions{}, true},
		{"-1MiB", time.Minute, engine.CacheOptions{}, true},
		{"256MiB", -time.Second, engine.CacheOptions{}, true},
	}
	for _, tt := range tests {
		f := runtimeFlags{cacheSize: tt.size, cacheTTL: tt.ttl}
		got, err := f.cacheOptions()
		if (err != nil) != tt.err || got.MaxBytes != tt.want.MaxBytes || got.TTL != tt.want.TTL {
			t.Errorf("--cache-size %q --cache-ttl %s: got %+v, %v; want %+v (error: %v)", tt.size, tt.ttl, got, err, tt.want, tt.err)
		}
	}
}
