/*
 * keygroup.c - key groups of byte keys (keygroup.h).
 */
#include "common/keygroup.h"

#define HASH_M1 0x9E3779B97F4A7C15ull
#define HASH_M2 0xC2B2AE3D27D4EB4Full

static uint64_t
hash_rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* One 64-bit word into the state. */
static uint64_t
hash_round(uint64_t h, uint64_t w)
{
	h ^= hash_rotl(w * HASH_M2, 31) * HASH_M1;
	return hash_rotl(h, 27) * HASH_M1 + 0x52DCE729u;
}

uint64_t
sm_hash_bytes64(const void *p, uint32_t len)
{
	const unsigned char *b = p;
	uint64_t h = HASH_M2 ^ ((uint64_t) len * HASH_M1);
	uint32_t i = 0;
	for (; i + 8 <= len; i += 8) {
		/* Little-endian whatever the host: key groups are part of
		 * stored snapshots and must not depend on the machine. */
		uint64_t w = 0;
		for (int k = 0; k < 8; k++)
			w |= (uint64_t) b[i + k] << (8 * k);
		h = hash_round(h, w);
	}
	if (i < len) {
		/* The tail, zero-padded; the length is already in h. */
		uint64_t w = 0;
		for (uint32_t k = 0; i + k < len; k++)
			w |= (uint64_t) b[i + k] << (8 * k);
		h = hash_round(h, w);
	}
	h ^= h >> 33;
	h *= HASH_M2;
	h ^= h >> 29;
	return h;
}

int
sm_key_group_bytes(const void *key, uint32_t len, int max_parallelism)
{
	if (max_parallelism <= 0)
		return 0;
	/* The splitmix64 finalizer over the hash. */
	uint64_t z = sm_hash_bytes64(key, len);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return (int) (z % (uint64_t) max_parallelism);
}
