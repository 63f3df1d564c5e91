/*
 * checksum.c - table-driven CRC-32C, reflected polynomial 0x82F63B78.
 */
#include "checksum.h"

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
sm_crc32c(uint32_t crc, const void *data, size_t len)
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
