/*
 * hash.h - the 64-bit mixing function shared by key groups and gen.
 *
 * sm_mix64 is the splitmix64 finalizer: a bijection of 64-bit words in
 * which inputs that differ in one bit give unrelated outputs. Key groups
 * (common/keygroup.c) and gen's records (worker/operators/op_gen.c) are
 * defined by it in the docs (docs/JOBFILE.md), so both use this one copy.
 */
#ifndef SM_HASH_H
#define SM_HASH_H

#include <stdint.h>

static inline uint64_t
sm_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

#endif
