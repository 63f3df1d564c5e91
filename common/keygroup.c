/*
 * keygroup.c - key groups of byte keys (keygroup.h). The definition is
 * the one docs/JOBFILE.md ("Key groups") gives users: savepoints are
 * restored by it, so it never changes.
 */
#include "common/keygroup.h"

#include "common/hash.h"

#define HASH_GOLDEN 0x9E3779B97F4A7C15ull

uint64_t
sm_hash_bytes64(const void *p, uint32_t len)
{
	/* Eight bytes at a time, read little-endian whatever the host, each
	 * word mixed into the state through the finalizer (two keys of one
	 * length differing in one word never meet in the state); the tail
	 * (1-7 bytes) is one more word, and the length is part of the
	 * start, so "a" and "a\0" differ. */
	const unsigned char *b = p;
	uint64_t h = HASH_GOLDEN ^ ((uint64_t) len << 32 | len);
	uint32_t n = len;
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w = 0;
		for (int i = 7; i >= 0; i--)
			w = w << 8 | b[i];
		h = sm_mix64(h ^ w) + HASH_GOLDEN;
	}
	if (n > 0) {
		uint64_t w = 0;
		for (int i = (int) n - 1; i >= 0; i--)
			w = w << 8 | b[i];
		h = sm_mix64(h ^ w) + HASH_GOLDEN;
	}
	return h;
}

int
sm_key_group_bytes(const void *key, uint32_t len, int max_parallelism)
{
	if (max_parallelism <= 0)
		return 0;
	return (int) (sm_mix64(sm_hash_bytes64(key, len)) %
	    (uint64_t) max_parallelism);
}
