/*
 * checksum.c - CRC-32C, reflected polynomial 0x82F63B78: the x86-64 crc32
 * instruction (8 bytes per step) when the CPU has SSE4.2, else tables.
 */
#include "common/checksum.h"

#include <pthread.h>

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_table_build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[0][i] = c;
	}
	/* Slicing-by-8: table t[k] advances a byte through k more zero bytes. */
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
			    crc_table[0][crc_table[k - 1][i] & 0xff];
}

uint32_t
sm_crc32c_table(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc_once, crc_table_build);
	const unsigned char *p = data;
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t) p[0] | (uint32_t) p[1] << 8 |
		    (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][p[4]] ^ crc_table[2][p[5]] ^
		    crc_table[1][p[6]] ^ crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <string.h>

__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t c = ~crc;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t) c;
	while (len-- > 0)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return ~c32;
}

static uint32_t (*crc_impl)(uint32_t, const void *, size_t);
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

static void
crc_impl_pick(void)
{
	__builtin_cpu_init();
	crc_impl =
	    __builtin_cpu_supports("sse4.2") ? crc32c_sse42 : sm_crc32c_table;
}

uint32_t
sm_crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&impl_once, crc_impl_pick);
	return crc_impl(crc, data, len);
}
#else
uint32_t
sm_crc32c(uint32_t crc, const void *data, size_t len)
{
	return sm_crc32c_table(crc, data, len);
}
#endif
