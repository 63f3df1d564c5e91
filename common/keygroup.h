/*
 * keygroup.h - which key group a key's bytes belong to.
 *
 * A keyed stage splits its keys into max_parallelism key groups by a hash
 * of the key's bytes; routing (hash edges) and keyed state (every stored
 * entry carries its key's group, so a rescale filters without re-hashing)
 * must agree on it, so the one function lives here.
 */
#ifndef SM_KEYGROUP_H
#define SM_KEYGROUP_H

#include <stdint.h>

/* sm_hash_bytes64: a 64-bit hash of len bytes at p (8 bytes at a time,
 * each word mixed in through the splitmix64 finalizer; docs/JOBFILE.md
 * "Key groups" gives the definition). */
uint64_t sm_hash_bytes64(const void *p, uint32_t len);

/* sm_key_group_bytes: the key group in [0, max_parallelism) of a key:
 * sm_hash_bytes64 then the splitmix64 finalizer, modulo max_parallelism
 * (0 if max_parallelism <= 0). */
int sm_key_group_bytes(const void *key, uint32_t len, int max_parallelism);

#endif
