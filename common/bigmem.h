/*
 * bigmem.h - a hint for large arrays that are filled right after they are
 * allocated (a restored state, a keymap growing to millions of keys).
 *
 * Touching fresh memory costs one page fault per 4 KiB page; on a virtual
 * machine that is a few microseconds each, so filling 24 MiB costs more
 * than reading the same entries out of LMDB. Transparent huge pages turn
 * that into one fault per 2 MiB. The hint is advisory: where the kernel
 * has THP off, or for small arrays, nothing changes.
 */
#ifndef SM_BIGMEM_H
#define SM_BIGMEM_H

#include <stddef.h>

/* sm_bigmem_advise asks for huge pages over the 2 MiB-aligned part of
 * [p, p + len) when len is at least 4 MiB. */
void sm_bigmem_advise(void *p, size_t len);

#endif
