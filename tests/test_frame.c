/*
 * test_frame.c - data-plane frames (common/frame.h): records of any length
 * (empty to SNAPMARK_MAX_BYTES) and watermarks packed come back equal, a
 * batch flushes at its record count or payload budget and refuses what no
 * frame can carry, and sm_frame_decode refuses every malformed frame a
 * peer could send (columns that disagree, lengths outside the payload,
 * frames over the cap) with SM_EPROTO and a reason.
 *
 * Malformed frames are built by hand as a Snapmark__Frame and packed into
 * an nng_msg, exactly as a buggy or hostile peer would.
 */
#include <nng/nng.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "common/frame.h"

/* ---- helpers ----------------------------------------------------------- */

/* pack_msg packs f into a new message (NULL on allocation failure). */
static nng_msg *
pack_msg(const Snapmark__Frame *f)
{
	nng_msg *m;
	size_t len = snapmark__frame__get_packed_size(f);
	if (nng_msg_alloc(&m, len) != 0)
		return NULL;
	snapmark__frame__pack(f, nng_msg_body(m));
	return m;
}

/* bytes_msg makes a message holding exactly len bytes of buf. */
static nng_msg *
bytes_msg(const void *buf, size_t len)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, len) != 0)
		return NULL;
	if (len > 0)
		memcpy(nng_msg_body(m), buf, len);
	return m;
}

/* Record i: an 8-byte key and a 20-byte value (gen's shape) whose bytes
 * are functions of i, and timestamps of every kind (none, negative,
 * INT64_MAX). keys/values: where the bytes live. */
static void
record_i(uint32_t i, uint8_t key[8], uint8_t value[20],
    struct snapmark_record *r)
{
	for (int k = 0; k < 8; k++)
		key[k] = (uint8_t) (i * 31 + (uint32_t) k * 7);
	for (int k = 0; k < 20; k++)
		value[k] = (uint8_t) (i ^ (uint32_t) k * 13);
	r->key = key;
	r->key_len = 8;
	r->value = value;
	r->value_len = 20;
	r->timestamp = i == 3   ? SNAPMARK_NO_TIME
	    : i == 5            ? INT64_MAX
	    : i % 2             ? -(int64_t) i * 1000003
	                        : (int64_t) i * 1000003;
}

/* same_record: a and b hold the same bytes and time. */
static int
same_record(const struct snapmark_record *a, const struct snapmark_record *b)
{
	return a->key_len == b->key_len && a->value_len == b->value_len &&
	    a->timestamp == b->timestamp &&
	    (a->key_len == 0 || memcmp(a->key, b->key, a->key_len) == 0) &&
	    (a->value_len == 0 ||
	        memcmp(a->value, b->value, a->value_len) == 0);
}

/* decode_records decodes m on channel ch into f and out (SM_OK or the
 * decoder's error); frees m. */
static int
decode_records(nng_msg *m, uint32_t ch, Snapmark__Frame **f,
    struct snapmark_record *out, size_t *n)
{
	const char *why = NULL;
	int rv = sm_frame_decode(m, ch, f, &why);
	nng_msg_free(m);
	if (rv != SM_OK)
		return rv;
	*n = sm_frame_get_records(*f, out);
	return SM_OK;
}

static struct snapmark_record got[SM_FRAME_RECORDS];

/* ---- round trips ------------------------------------------------------ */

static void
records_frame_round_trips_a_full_batch_and_empties_it(void)
{
	static struct sm_batch b; /* 40 KiB of columns: not on the stack */
	static uint8_t keys[SM_FRAME_RECORDS][8], values[SM_FRAME_RECORDS][20];
	struct snapmark_record r;
	nng_msg *m = NULL;
	Snapmark__Frame *f = NULL;
	size_t n = 0;

	T_OK(sm_batch_init(&b));
	for (uint32_t i = 0; i < SM_FRAME_RECORDS; i++) {
		T_TRUE(!sm_batch_full(&b));
		record_i(i, keys[i], values[i], &r);
		T_TRUE(sm_batch_has_room(&b, &r));
		T_OK(sm_batch_add(&b, &r));
	}
	T_TRUE(sm_batch_full(&b));
	T_EQ_INT(b.payload_len, SM_FRAME_RECORDS * 28);
	T_OK(sm_frame_records(9, 42, 5, &b, &m));
	T_EQ_INT(b.n, 0);
	T_EQ_INT(b.payload_len, 0);
	/* 1024 gen records: 28 KiB of payload, 16 KiB of columns */
	T_TRUE(nng_msg_len(m) <= 48 * 1024);
	T_OK(decode_records(m, 5, &f, got, &n));
	int ok = f->epoch == 9 && f->seq == 42 && f->channel == 5 &&
	    f->kind == SNAPMARK__FRAME__KIND__RECORDS &&
	    n == SM_FRAME_RECORDS;
	uint32_t bad = UINT32_MAX;
	for (uint32_t i = 0; ok && i < SM_FRAME_RECORDS; i++) {
		uint8_t k[8], v[20];
		record_i(i, k, v, &r);
		if (!same_record(&got[i], &r)) {
			bad = i;
			ok = 0;
		}
	}
	/* the records point into the decoded payload, back to back */
	ok = ok && (const uint8_t *) got[0].key == f->payload.data &&
	    (const uint8_t *) got[1].key == f->payload.data + 28;
	sm_frame_free(f);
	sm_batch_fini(&b);
	if (!ok)
		T_FAIL_("decoded frame differs (first bad record %u)",
		    (unsigned) bad);
}

static void
records_frame_of_a_partial_batch_holds_just_those_records(void)
{
	static struct sm_batch b;
	static uint8_t keys[SM_FRAME_RECORDS][8], values[SM_FRAME_RECORDS][20];
	struct snapmark_record r;
	nng_msg *m = NULL;
	Snapmark__Frame *f = NULL;
	size_t n = 0;
	static const uint32_t sizes[] = { 0, 1, 3, 1023 };

	T_OK(sm_batch_init(&b));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (uint32_t i = 0; i < sizes[s]; i++) {
			record_i(i + 17, keys[i], values[i], &r);
			T_OK(sm_batch_add(&b, &r));
		}
		T_OK(sm_frame_records(1, s, 0, &b, &m));
		T_EQ_INT(b.n, 0);
		T_OK(decode_records(m, 0, &f, got, &n));
		int ok = f->kind == SNAPMARK__FRAME__KIND__RECORDS &&
		    f->seq == s && n == sizes[s];
		for (uint32_t i = 0; ok && i < sizes[s]; i++) {
			uint8_t k[8], v[20];
			record_i(i + 17, k, v, &r);
			ok = same_record(&got[i], &r);
		}
		sm_frame_free(f);
		if (!ok)
			T_FAIL_("batch of %u records differs",
			    (unsigned) sizes[s]);
	}
	sm_batch_fini(&b);
}

static void
empty_and_largest_keys_and_values_round_trip(void)
{
	static struct sm_batch b;
	static uint8_t big_key[SNAPMARK_MAX_BYTES], big_value[SNAPMARK_MAX_BYTES];
	for (size_t i = 0; i < SNAPMARK_MAX_BYTES; i++) {
		big_key[i] = (uint8_t) (i * 7);
		big_value[i] = (uint8_t) (i * 11 + 1);
	}
	/* empty key and value, empty key, empty value; then the largest
	 * record of all, which must travel alone */
	const struct snapmark_record small[] = {
		{ NULL, 0, NULL, 0, 0 },
		{ "", 0, "v", 1, 1 },
		{ "k", 1, NULL, 0, SNAPMARK_NO_TIME },
		{ "key\0with\tbytes", 14, "\n\0\xff", 3, -7 },
	};
	const struct snapmark_record large = { big_key, SNAPMARK_MAX_BYTES,
		big_value, SNAPMARK_MAX_BYTES, 99 };
	nng_msg *m = NULL;
	Snapmark__Frame *f = NULL;
	size_t n = 0;

	T_OK(sm_batch_init(&b));
	for (size_t i = 0; i < 4; i++)
		T_OK(sm_batch_add(&b, &small[i]));
	T_EQ_INT(b.payload_len, 1 + 1 + 14 + 3);
	/* the large record does not join a batch that holds records */
	T_TRUE(sm_record_fits_frame(&large));
	T_TRUE(!sm_batch_has_room(&b, &large));
	T_ERR(sm_batch_add(&b, &large), SM_EINVAL);
	T_EQ_INT(b.n, 4);
	T_OK(sm_frame_records(1, 0, 2, &b, &m));
	T_OK(decode_records(m, 2, &f, got, &n));
	int ok = n == 4;
	for (size_t i = 0; ok && i < 4; i++)
		ok = same_record(&got[i], &small[i]) && got[i].key != NULL &&
		    got[i].value != NULL;
	sm_frame_free(f);
	T_TRUE(ok);

	/* alone it travels, in a frame under the cap */
	T_TRUE(sm_batch_has_room(&b, &large));
	T_OK(sm_batch_add(&b, &large));
	T_TRUE(sm_batch_full(&b));
	T_OK(sm_frame_records(1, 1, 2, &b, &m));
	T_TRUE(nng_msg_len(m) <= SM_FRAME_MAX_BYTES);
	/* and the batch gives the room back */
	T_EQ_INT(b.payload_cap, SM_FRAME_PAYLOAD_BYTES);
	T_OK(decode_records(m, 2, &f, got, &n));
	ok = n == 1 && same_record(&got[0], &large);
	sm_frame_free(f);
	sm_batch_fini(&b);
	T_TRUE(ok);
}

static void
batch_is_full_at_its_payload_budget(void)
{
	static struct sm_batch b;
	static uint8_t value[1000];
	const struct snapmark_record r = { "key", 3, value, sizeof(value), 0 };
	const struct snapmark_record tiny = { "", 0, "", 0, 0 };
	uint32_t added = 0;

	T_OK(sm_batch_init(&b));
	while (sm_batch_has_room(&b, &r) && !sm_batch_full(&b)) {
		T_OK(sm_batch_add(&b, &r));
		added++;
	}
	/* 32 records of 1003 bytes fit the 32 KiB budget, a 33rd not */
	T_EQ_INT(added, SM_FRAME_PAYLOAD_BYTES / 1003);
	T_TRUE(!sm_batch_full(&b));
	T_TRUE(!sm_batch_has_room(&b, &r));
	T_ERR(sm_batch_add(&b, &r), SM_EINVAL);
	/* an empty record still has room, up to SM_FRAME_RECORDS */
	while (sm_batch_has_room(&b, &tiny))
		T_OK(sm_batch_add(&b, &tiny));
	T_EQ_INT(b.n, SM_FRAME_RECORDS);
	T_TRUE(sm_batch_full(&b));
	sm_batch_fini(&b);
}

static void
batch_refuses_a_record_over_the_caps(void)
{
	static struct sm_batch b;
	static uint8_t big[SNAPMARK_MAX_BYTES + 1];
	const struct snapmark_record key = { big, SNAPMARK_MAX_BYTES + 1, "",
		0, 0 };
	const struct snapmark_record value = { "", 0, big,
		SNAPMARK_MAX_BYTES + 1, 0 };

	T_OK(sm_batch_init(&b));
	T_TRUE(!sm_record_fits_frame(&key));
	T_TRUE(!sm_record_fits_frame(&value));
	T_ERR(sm_batch_add(&b, &key), SM_EINVAL);
	T_ERR(sm_batch_add(&b, &value), SM_EINVAL);
	T_EQ_INT(b.n, 0);
	T_EQ_INT(b.payload_len, 0);
	sm_batch_fini(&b);
}

static void
watermark_frames_round_trip(void)
{
	static const int64_t marks[] = { INT64_MIN + 1, -5, 0, 1700000000000,
		INT64_MAX };
	for (size_t c = 0; c < sizeof(marks) / sizeof(marks[0]); c++) {
		nng_msg *m = NULL;
		Snapmark__Frame *f = NULL;
		const char *why = NULL;
		T_OK(sm_frame_watermark(3, 7 + c, 11, marks[c], &m));
		int rv = sm_frame_decode(m, 11, &f, &why);
		nng_msg_free(m);
		T_OK(rv);
		int ok = f->epoch == 3 && f->seq == 7 + c && f->channel == 11 &&
		    f->kind == SNAPMARK__FRAME__KIND__WATERMARK &&
		    f->has_watermark && f->watermark == marks[c] &&
		    sm_frame_n_records(f) == 0 && !f->has_checkpoint_id;
		sm_frame_free(f);
		if (!ok)
			T_FAIL_("watermark case %zu differs", c);
	}
}

static void
barrier_and_end_markers_round_trip(void)
{
	static const struct {
		Snapmark__Frame__Kind kind;
		uint64_t id;
	} cases[] = {
		{ SNAPMARK__FRAME__KIND__BARRIER, 77 },
		{ SNAPMARK__FRAME__KIND__BARRIER, UINT64_MAX },
		{ SNAPMARK__FRAME__KIND__END_OF_DATA, 0 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		nng_msg *m = NULL;
		Snapmark__Frame *f = NULL;
		const char *why = NULL;
		T_OK(sm_frame_marker(4, 1000 + c, 12, cases[c].kind,
		    cases[c].id, &m));
		int rv = sm_frame_decode(m, 12, &f, &why);
		nng_msg_free(m);
		T_OK(rv);
		int ok = f->epoch == 4 && f->seq == 1000 + c &&
		    f->channel == 12 && f->kind == cases[c].kind &&
		    f->n_key_len == 0 && f->n_value_len == 0 &&
		    f->n_timestamp == 0 && !f->has_payload &&
		    !f->has_watermark;
		if (cases[c].kind == SNAPMARK__FRAME__KIND__BARRIER)
			ok = ok && f->has_checkpoint_id &&
			    f->checkpoint_id == cases[c].id;
		sm_frame_free(f);
		if (!ok)
			T_FAIL_("marker case %zu differs", c);
	}
}

static void
decode_leaves_the_message_untouched(void)
{
	nng_msg *m = NULL;
	Snapmark__Frame *f = NULL;
	const char *why = NULL;
	unsigned char before[64];
	T_OK(sm_frame_marker(2, 3, 4, SNAPMARK__FRAME__KIND__BARRIER, 5, &m));
	size_t len = nng_msg_len(m);
	T_TRUE(len <= sizeof(before));
	memcpy(before, nng_msg_body(m), len);
	int rv = sm_frame_decode(m, 4, &f, &why);
	sm_frame_free(f);
	int same = nng_msg_len(m) == len &&
	    memcmp(nng_msg_body(m), before, len) == 0;
	nng_msg_free(m);
	T_OK(rv);
	T_TRUE(same);
}

/* ---- rejections ------------------------------------------------------ */

/* A hand-built frame: a valid barrier on channel 3 unless changed. */
static void
frame_base(Snapmark__Frame *f)
{
	snapmark__frame__init(f);
	f->epoch = 1;
	f->seq = 0;
	f->channel = 3;
	f->kind = SNAPMARK__FRAME__KIND__BARRIER;
	f->has_checkpoint_id = 1;
	f->checkpoint_id = 9;
}

static uint32_t col_klen[4] = { 1, 0, 2, 3 };
static uint32_t col_vlen[4] = { 2, 1, 0, 3 };
static int64_t col_ts[4] = { -1, 0, SNAPMARK_NO_TIME, INT64_MAX };
static uint8_t col_payload[12] = "abcdefghijkl"; /* the lengths' sum */

/* with_records gives f n records in every column (n <= 4), with the
 * payload they need. */
static void
with_records(Snapmark__Frame *f, size_t n)
{
	f->n_key_len = f->n_value_len = f->n_timestamp = n;
	f->key_len = col_klen;
	f->value_len = col_vlen;
	f->timestamp = col_ts;
	size_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += col_klen[i] + col_vlen[i];
	f->has_payload = 1;
	f->payload.len = sum;
	f->payload.data = col_payload;
}

static void
as_records(Snapmark__Frame *f)
{
	f->kind = SNAPMARK__FRAME__KIND__RECORDS;
	f->has_checkpoint_id = 0;
	with_records(f, 4);
}

static void
as_watermark(Snapmark__Frame *f)
{
	f->kind = SNAPMARK__FRAME__KIND__WATERMARK;
	f->has_checkpoint_id = 0;
	f->has_watermark = 1;
	f->watermark = 5;
}

static void
mk_other_channel(Snapmark__Frame *f)
{
	f->channel = 4;
}

static void
mk_records_other_channel(Snapmark__Frame *f)
{
	as_records(f);
	f->channel = 0;
}

static void
mk_barrier_without_id(Snapmark__Frame *f)
{
	f->has_checkpoint_id = 0;
	f->checkpoint_id = 0;
}

static void
mk_barrier_with_id_zero(Snapmark__Frame *f)
{
	f->checkpoint_id = 0;
}

static void
mk_short_key_len_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_key_len = 3;
}

static void
mk_short_value_len_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_value_len = 1;
}

static void
mk_no_timestamp_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_timestamp = 0;
}

static void
mk_only_the_key_len_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_value_len = f->n_timestamp = 0;
}

static void
mk_truncated_payload(Snapmark__Frame *f)
{
	as_records(f);
	f->payload.len -= 1;
}

static void
mk_no_payload(Snapmark__Frame *f)
{
	as_records(f);
	f->has_payload = 0;
	f->payload.len = 0;
}

static void
mk_payload_longer_than_records(Snapmark__Frame *f)
{
	as_records(f);
	with_records(f, 3);
	f->payload.len += 1;
}

/* A length far past the payload, and past SNAPMARK_MAX_BYTES. */
static uint32_t huge_klen[2] = { UINT32_MAX, 1 };
static uint32_t two_vlen[2] = { 0, 0 };
static int64_t two_ts[2] = { 0, 0 };

static void
mk_length_overflowing_the_payload(Snapmark__Frame *f)
{
	as_records(f);
	f->n_key_len = f->n_value_len = f->n_timestamp = 2;
	f->key_len = huge_klen;
	f->value_len = two_vlen;
	f->timestamp = two_ts;
}

/* Two lengths whose sum wraps 32 bits to 0, against an empty payload. */
static uint32_t wrap_klen[2] = { 0x80000000u, 0 };
static uint32_t wrap_vlen[2] = { 0, 0x80000000u };

static void
mk_lengths_wrapping_32_bits(Snapmark__Frame *f)
{
	as_records(f);
	f->n_key_len = f->n_value_len = f->n_timestamp = 2;
	f->key_len = wrap_klen;
	f->value_len = wrap_vlen;
	f->timestamp = two_ts;
	f->payload.len = 0;
}

/* A key one byte over SNAPMARK_MAX_BYTES, with a payload that holds it. */
static uint8_t over_payload[SNAPMARK_MAX_BYTES + 1];
static uint32_t over_klen[1] = { SNAPMARK_MAX_BYTES + 1 };

static void
mk_key_over_the_cap(Snapmark__Frame *f)
{
	as_records(f);
	f->n_key_len = f->n_value_len = f->n_timestamp = 1;
	f->key_len = over_klen;
	f->value_len = two_vlen;
	f->timestamp = two_ts;
	f->payload.len = sizeof(over_payload);
	f->payload.data = over_payload;
}

/* SM_FRAME_RECORDS + 1 empty records. */
static uint32_t zeros32[SM_FRAME_RECORDS + 1];
static int64_t zeros64[SM_FRAME_RECORDS + 1];

static void
mk_too_many_records(Snapmark__Frame *f)
{
	as_records(f);
	f->n_key_len = f->n_value_len = f->n_timestamp = SM_FRAME_RECORDS + 1;
	f->key_len = f->value_len = zeros32;
	f->timestamp = zeros64;
	f->payload.len = 0;
}

static void
mk_barrier_with_records(Snapmark__Frame *f)
{
	with_records(f, 2);
}

static void
mk_barrier_with_a_payload(Snapmark__Frame *f)
{
	f->has_payload = 1;
	f->payload.len = 3;
	f->payload.data = col_payload;
}

static void
mk_end_with_records(Snapmark__Frame *f)
{
	f->kind = SNAPMARK__FRAME__KIND__END_OF_DATA;
	f->has_checkpoint_id = 0;
	with_records(f, 1);
}

static void
mk_watermark_with_records(Snapmark__Frame *f)
{
	as_watermark(f);
	with_records(f, 1);
}

static void
mk_watermark_without_a_time(Snapmark__Frame *f)
{
	as_watermark(f);
	f->has_watermark = 0;
}

static void
mk_barrier_with_a_watermark(Snapmark__Frame *f)
{
	f->has_watermark = 1;
	f->watermark = 3;
}

static void
mk_records_with_a_watermark(Snapmark__Frame *f)
{
	as_records(f);
	f->has_watermark = 1;
	f->watermark = 3;
}

static void
mk_kind_4(Snapmark__Frame *f)
{
	f->kind = (Snapmark__Frame__Kind) 4;
}

static void
mk_kind_negative(Snapmark__Frame *f)
{
	f->kind = (Snapmark__Frame__Kind) -1;
}

static const struct {
	const char *what;
	void (*mutate)(Snapmark__Frame *f);
} bad_frames[] = {
	{ "barrier for another channel", mk_other_channel },
	{ "records for another channel", mk_records_other_channel },
	{ "barrier without a checkpoint id", mk_barrier_without_id },
	{ "barrier with checkpoint id 0", mk_barrier_with_id_zero },
	{ "key_len column shorter", mk_short_key_len_column },
	{ "value_len column shorter", mk_short_value_len_column },
	{ "no timestamp column", mk_no_timestamp_column },
	{ "only the key_len column", mk_only_the_key_len_column },
	{ "payload one byte short", mk_truncated_payload },
	{ "records without a payload", mk_no_payload },
	{ "payload longer than its records", mk_payload_longer_than_records },
	{ "a length far past the payload", mk_length_overflowing_the_payload },
	{ "lengths wrapping 32 bits", mk_lengths_wrapping_32_bits },
	{ "a key over SNAPMARK_MAX_BYTES", mk_key_over_the_cap },
	{ "more than SM_FRAME_RECORDS records", mk_too_many_records },
	{ "barrier carrying records", mk_barrier_with_records },
	{ "barrier carrying a payload", mk_barrier_with_a_payload },
	{ "end of data carrying records", mk_end_with_records },
	{ "watermark carrying records", mk_watermark_with_records },
	{ "watermark frame without a time", mk_watermark_without_a_time },
	{ "barrier with a watermark", mk_barrier_with_a_watermark },
	{ "records with a watermark", mk_records_with_a_watermark },
	{ "unknown kind 4", mk_kind_4 },
	{ "unknown kind -1", mk_kind_negative },
};

/* expect_rejected decodes m on channel 3: SM_EPROTO, a reason, no frame. */
static int
expect_rejected(nng_msg *m, const char *what)
{
	Snapmark__Frame sentinel, *f = &sentinel;
	const char *why = NULL;
	if (m == NULL) {
		fprintf(stderr, "  %s: could not build the message\n", what);
		return 0;
	}
	int rv = sm_frame_decode(m, 3, &f, &why);
	int ok = rv == SM_EPROTO && why != NULL && why[0] != '\0' &&
	    f == &sentinel;
	if (!ok)
		fprintf(stderr, "  %s: got %s, why %s, out %s\n", what,
		    sm_strerror(rv), why ? why : "(null)",
		    f == &sentinel ? "untouched" : "written");
	if (rv == SM_OK && f != &sentinel)
		sm_frame_free(f);
	return ok;
}

static void
decode_refuses_malformed_frames_with_a_reason(void)
{
	int failed = 0;
	/* the unmutated base must decode, or the table proves nothing */
	Snapmark__Frame base, *f = NULL;
	const char *why = NULL;
	frame_base(&base);
	nng_msg *m = pack_msg(&base);
	T_TRUE(m != NULL);
	int rv = sm_frame_decode(m, 3, &f, &why);
	nng_msg_free(m);
	T_OK(rv);
	sm_frame_free(f);
	as_records(&base);
	m = pack_msg(&base);
	T_TRUE(m != NULL);
	rv = sm_frame_decode(m, 3, &f, &why);
	nng_msg_free(m);
	T_OK(rv);
	T_EQ_INT(sm_frame_get_records(f, got), 4);
	T_TRUE(same_record(&got[3],
	    &(struct snapmark_record) { "ghi", 3, "jkl", 3, INT64_MAX }));
	sm_frame_free(f);
	frame_base(&base);
	as_watermark(&base);
	m = pack_msg(&base);
	T_TRUE(m != NULL);
	rv = sm_frame_decode(m, 3, &f, &why);
	nng_msg_free(m);
	T_OK(rv);
	sm_frame_free(f);

	for (size_t i = 0; i < sizeof(bad_frames) / sizeof(bad_frames[0]);
	     i++) {
		Snapmark__Frame fr;
		frame_base(&fr);
		bad_frames[i].mutate(&fr);
		m = pack_msg(&fr);
		failed += !expect_rejected(m, bad_frames[i].what);
		if (m != NULL)
			nng_msg_free(m);
	}
	T_EQ_INT(failed, 0);
}

static void
decode_refuses_bytes_that_are_not_a_frame(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} garbage[] = {
		{ "empty message", "", 0 },
		{ "truncated varint", "\xff\xff\xff", 3 },
		{ "text", "hello, snapmark", 15 },
		{ "all 0xff", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
		    11 },
		/* epoch and seq but no channel or kind (required) */
		{ "missing required fields", "\x08\x01\x10\x02", 4 },
		/* a length-delimited field running past the end */
		{ "length past the end", "\x08\x01\x10\x02\x18\x03\x20\x01"
					 "\x32\x40\x01\x02", 12 },
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		nng_msg *m = bytes_msg(garbage[i].bytes, garbage[i].len);
		failed += !expect_rejected(m, garbage[i].what);
		if (m != NULL)
			nng_msg_free(m);
	}
	T_EQ_INT(failed, 0);
}

/*
 * padded_msg makes a valid barrier frame of exactly total bytes, padded
 * with an unknown length-delimited field (number 15) that protobuf keeps
 * but snapmark ignores: only the size distinguishes two such frames.
 */
static nng_msg *
padded_msg(size_t total)
{
	Snapmark__Frame f;
	frame_base(&f);
	size_t base = snapmark__frame__get_packed_size(&f);
	/* pad = tag (1) + varint(len) + len */
	size_t len = total - base - 2;
	while (1 + (len < 128 ? 1 : len < 16384 ? 2 : len < 2097152 ? 3 : 4) +
	    len > total - base)
		len--;
	size_t vl = len < 128 ? 1 : len < 16384 ? 2 : len < 2097152 ? 3 : 4;
	if (base + 1 + vl + len != total)
		return NULL;
	nng_msg *m;
	if (nng_msg_alloc(&m, total) != 0)
		return NULL;
	unsigned char *p = nng_msg_body(m);
	snapmark__frame__pack(&f, p);
	p += base;
	*p++ = (15 << 3) | 2;
	for (size_t v = len; v >= 128; v >>= 7)
		*p++ = (unsigned char) (v | 0x80);
	*p++ = (unsigned char) (len >> (7 * (vl - 1)));
	memset(p, 0xAB, len);
	return m;
}

static void
decode_accepts_a_frame_of_exactly_the_size_cap(void)
{
	nng_msg *m = padded_msg(SM_FRAME_MAX_BYTES);
	Snapmark__Frame *f = NULL;
	const char *why = NULL;
	T_TRUE(m != NULL);
	T_EQ_INT(nng_msg_len(m), SM_FRAME_MAX_BYTES);
	int rv = sm_frame_decode(m, 3, &f, &why);
	nng_msg_free(m);
	T_OK(rv);
	int ok = f->kind == SNAPMARK__FRAME__KIND__BARRIER &&
	    f->checkpoint_id == 9;
	sm_frame_free(f);
	T_TRUE(ok);
}

static void
decode_refuses_a_frame_one_byte_over_the_size_cap(void)
{
	nng_msg *m = padded_msg(SM_FRAME_MAX_BYTES + 1);
	T_TRUE(m != NULL);
	T_EQ_INT(nng_msg_len(m), SM_FRAME_MAX_BYTES + 1);
	int ok = expect_rejected(m, "frame of SM_FRAME_MAX_BYTES + 1");
	nng_msg_free(m);
	T_TRUE(ok);
}

static void
decode_refuses_an_oversized_records_frame(void)
{
	/* 4 records of the largest key and value: every length valid, the
	 * payload exactly their sum, but 2 MiB: over the 1 MiB cap */
	enum { N = 4 };
	Snapmark__Frame f;
	frame_base(&f);
	f.kind = SNAPMARK__FRAME__KIND__RECORDS;
	f.has_checkpoint_id = 0;
	uint32_t lens[N] = { SNAPMARK_MAX_BYTES, SNAPMARK_MAX_BYTES,
		SNAPMARK_MAX_BYTES, SNAPMARK_MAX_BYTES };
	int64_t ts[N] = { 0, 0, 0, 0 };
	size_t total = (size_t) N * 2 * SNAPMARK_MAX_BYTES;
	uint8_t *payload = calloc(1, total);
	nng_msg *m = NULL;
	if (payload != NULL) {
		f.n_key_len = f.n_value_len = f.n_timestamp = N;
		f.key_len = f.value_len = lens;
		f.timestamp = ts;
		f.has_payload = 1;
		f.payload.len = total;
		f.payload.data = payload;
		m = pack_msg(&f);
	}
	free(payload);
	T_TRUE(m != NULL);
	T_TRUE(nng_msg_len(m) > SM_FRAME_MAX_BYTES);
	int ok = expect_rejected(m, "2 MiB records frame");
	nng_msg_free(m);
	T_TRUE(ok);
}

static const struct sm_test tests[] = {
#define T(name) { #name, name }
	T(records_frame_round_trips_a_full_batch_and_empties_it),
	T(records_frame_of_a_partial_batch_holds_just_those_records),
	T(empty_and_largest_keys_and_values_round_trip),
	T(batch_is_full_at_its_payload_budget),
	T(batch_refuses_a_record_over_the_caps),
	T(watermark_frames_round_trip),
	T(barrier_and_end_markers_round_trip),
	T(decode_leaves_the_message_untouched),
	T(decode_refuses_malformed_frames_with_a_reason),
	T(decode_refuses_bytes_that_are_not_a_frame),
	T(decode_accepts_a_frame_of_exactly_the_size_cap),
	T(decode_refuses_a_frame_one_byte_over_the_size_cap),
	T(decode_refuses_an_oversized_records_frame),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
