/*
 * bigmem.c - transparent huge page hint for large arrays (bigmem.h).
 */
#define _DEFAULT_SOURCE
#include "common/bigmem.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t) 2 << 20)

void
sm_bigmem_advise(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	if (p == NULL || len < 2 * HUGE_PAGE)
		return;
	uintptr_t start = ((uintptr_t) p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t end = ((uintptr_t) p + len) & ~(HUGE_PAGE - 1);
	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#else
	(void) p;
	(void) len;
#endif
}
