/*
 * test_checksum.c - CRC-32C against the published check values.
 */
#include "tests/check.h"
#include "common/checksum.h"

static void
crc32c_matches_the_standard_check_value(void)
{
	/* RFC 3720 B.4 / the "123456789" check value of CRC-32C. */
	T_EQ_INT(sm_crc32c(0, "123456789", 9), 0xE3069283u);
}

static void
crc32c_of_32_zero_bytes_matches_rfc3720(void)
{
	unsigned char zeros[32] = { 0 };
	T_EQ_INT(sm_crc32c(0, zeros, sizeof(zeros)), 0x8A9136AAu);
}

static void
crc32c_can_be_computed_in_pieces(void)
{
	const char *s = "snapmark checkpoints are verified before use";
	size_t n = strlen(s);
	for (size_t cut = 0; cut <= n; cut++) {
		uint32_t c = sm_crc32c(sm_crc32c(0, s, cut), s + cut, n - cut);
		T_EQ_INT(c, sm_crc32c(0, s, n));
	}
}

static void
crc32c_detects_a_single_flipped_bit(void)
{
	unsigned char buf[100];
	for (int i = 0; i < 100; i++)
		buf[i] = (unsigned char) i;
	uint32_t good = sm_crc32c(0, buf, sizeof(buf));
	buf[57] ^= 0x10;
	T_TRUE(sm_crc32c(0, buf, sizeof(buf)) != good);
}

static void
the_fast_and_the_table_checksums_agree_on_every_length_and_alignment(void)
{
	unsigned char buf[320];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char) (x >> 16);
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= 300; n++) {
			uint32_t seed = (uint32_t) (n * 2654435761u);
			if (sm_crc32c(seed, buf + off, n) !=
			    sm_crc32c_table(seed, buf + off, n))
				T_FAIL_("offset %zu, length %zu differ", off,
				    n);
		}
	T_EQ_INT(sm_crc32c_table(0, "123456789", 9), 0xE3069283u);
}

static const struct sm_test tests[] = {
	{ "crc32c_matches_the_standard_check_value",
	    crc32c_matches_the_standard_check_value },
	{ "crc32c_of_32_zero_bytes_matches_rfc3720",
	    crc32c_of_32_zero_bytes_matches_rfc3720 },
	{ "crc32c_can_be_computed_in_pieces",
	    crc32c_can_be_computed_in_pieces },
	{ "crc32c_detects_a_single_flipped_bit",
	    crc32c_detects_a_single_flipped_bit },
	{ "the_fast_and_the_table_checksums_agree_on_every_length_and_"
	  "alignment",
	    the_fast_and_the_table_checksums_agree_on_every_length_and_alignment },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
