/*
 * test_frame.c - data-plane frames (common/frame.h): what is packed comes
 * back equal, and sm_frame_decode refuses every malformed frame a peer
 * could send with SM_EPROTO and a reason.
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

/* A record whose fields are all different functions of i, with negative
 * values and values needing all 64 bits. */
static void
record_i(uint32_t i, struct sm_record *r)
{
	r->subtask = i % 7 + (i == 3 ? UINT32_MAX - 7 : 0);
	r->seq = 1000000ull + i;
	r->key = (uint64_t) i * 0x9E3779B97F4A7C15ull;
	r->value = (i % 2 ? -1 : 1) * (int64_t) i * 1000003;
	if (i == 5)
		r->value = INT64_MIN;
}

/* ---- round trips ------------------------------------------------------ */

static void
records_frame_round_trips_a_full_batch_and_empties_it(void)
{
	static struct sm_batch b; /* 28 KiB: not on the stack */
	struct sm_record r;
	nng_msg *m = NULL;
	Snapmark__Frame *f = NULL;
	const char *why = NULL;

	b.n = 0;
	for (uint32_t i = 0; i < SM_FRAME_RECORDS; i++) {
		T_TRUE(!sm_batch_full(&b));
		record_i(i, &r);
		sm_batch_add(&b, &r);
	}
	T_TRUE(sm_batch_full(&b));
	T_OK(sm_frame_records(9, 42, 5, &b, &m));
	T_EQ_INT(b.n, 0);
	/* the size the header promises: well inside one 32 KiB message */
	T_TRUE(nng_msg_len(m) <= 32 * 1024);
	int rv = sm_frame_decode(m, 5, &f, &why);
	nng_msg_free(m);
	T_OK(rv);
	int ok = f->epoch == 9 && f->seq == 42 && f->channel == 5 &&
	    f->kind == SNAPMARK__FRAME__KIND__RECORDS &&
	    f->n_rec_subtask == SM_FRAME_RECORDS &&
	    f->n_rec_seq == SM_FRAME_RECORDS &&
	    f->n_rec_key == SM_FRAME_RECORDS &&
	    f->n_rec_value == SM_FRAME_RECORDS;
	uint32_t bad = UINT32_MAX;
	for (uint32_t i = 0; ok && i < SM_FRAME_RECORDS; i++) {
		record_i(i, &r);
		if (f->rec_subtask[i] != r.subtask || f->rec_seq[i] != r.seq ||
		    f->rec_key[i] != r.key || f->rec_value[i] != r.value) {
			bad = i;
			ok = 0;
		}
	}
	sm_frame_free(f);
	if (!ok)
		T_FAIL_("decoded frame differs (first bad record %u)",
		    (unsigned) bad);
}

static void
records_frame_of_a_partial_batch_holds_just_those_records(void)
{
	static struct sm_batch b;
	struct sm_record r;
	nng_msg *m = NULL;
	Snapmark__Frame *f = NULL;
	const char *why = NULL;
	static const uint32_t sizes[] = { 0, 1, 3, 1023 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		b.n = 0;
		for (uint32_t i = 0; i < sizes[s]; i++) {
			record_i(i + 17, &r);
			sm_batch_add(&b, &r);
		}
		T_OK(sm_frame_records(1, s, 0, &b, &m));
		T_EQ_INT(b.n, 0);
		int rv = sm_frame_decode(m, 0, &f, &why);
		nng_msg_free(m);
		T_OK(rv);
		int ok = f->kind == SNAPMARK__FRAME__KIND__RECORDS &&
		    f->seq == s && f->n_rec_subtask == sizes[s] &&
		    f->n_rec_value == sizes[s];
		for (uint32_t i = 0; ok && i < sizes[s]; i++) {
			record_i(i + 17, &r);
			ok = f->rec_key[i] == r.key &&
			    f->rec_value[i] == r.value;
		}
		sm_frame_free(f);
		if (!ok)
			T_FAIL_("batch of %u records differs",
			    (unsigned) sizes[s]);
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
		    f->n_rec_subtask == 0 && f->n_rec_seq == 0 &&
		    f->n_rec_key == 0 && f->n_rec_value == 0;
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

static uint32_t col_sub[4] = { 1, 2, 3, 4 };
static uint64_t col_seq[4] = { 10, 11, 12, 13 };
static uint64_t col_key[4] = { 20, 21, 22, 23 };
static int64_t col_val[4] = { -1, 0, 1, 2 };

/* with_records gives f n records in every column. */
static void
with_records(Snapmark__Frame *f, size_t n)
{
	f->n_rec_subtask = f->n_rec_seq = f->n_rec_key = f->n_rec_value = n;
	f->rec_subtask = col_sub;
	f->rec_seq = col_seq;
	f->rec_key = col_key;
	f->rec_value = col_val;
}

static void
as_records(Snapmark__Frame *f)
{
	f->kind = SNAPMARK__FRAME__KIND__RECORDS;
	f->has_checkpoint_id = 0;
	with_records(f, 4);
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
mk_short_subtask_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_rec_subtask = 3;
}

static void
mk_short_seq_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_rec_seq = 3;
}

static void
mk_short_key_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_rec_key = 1;
}

static void
mk_short_value_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_rec_value = 0;
}

static void
mk_only_one_column(Snapmark__Frame *f)
{
	as_records(f);
	f->n_rec_seq = f->n_rec_key = f->n_rec_value = 0;
}

static void
mk_barrier_with_records(Snapmark__Frame *f)
{
	with_records(f, 2);
}

static void
mk_end_with_records(Snapmark__Frame *f)
{
	f->kind = SNAPMARK__FRAME__KIND__END_OF_DATA;
	f->has_checkpoint_id = 0;
	with_records(f, 1);
}

static void
mk_kind_3(Snapmark__Frame *f)
{
	f->kind = (Snapmark__Frame__Kind) 3;
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
	{ "subtask column shorter", mk_short_subtask_column },
	{ "seq column shorter", mk_short_seq_column },
	{ "key column shorter", mk_short_key_column },
	{ "value column empty", mk_short_value_column },
	{ "only the subtask column", mk_only_one_column },
	{ "barrier carrying records", mk_barrier_with_records },
	{ "end of data carrying records", mk_end_with_records },
	{ "unknown kind 3", mk_kind_3 },
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
	/* 40000 records of 28 bytes: a valid frame but > 1 MiB */
	enum { N = 40000 };
	Snapmark__Frame f;
	frame_base(&f);
	f.kind = SNAPMARK__FRAME__KIND__RECORDS;
	f.has_checkpoint_id = 0;
	uint32_t *sub = calloc(N, sizeof(*sub));
	uint64_t *seq = calloc(N, sizeof(*seq));
	uint64_t *key = calloc(N, sizeof(*key));
	int64_t *val = calloc(N, sizeof(*val));
	nng_msg *m = NULL;
	if (sub != NULL && seq != NULL && key != NULL && val != NULL) {
		f.n_rec_subtask = f.n_rec_seq = f.n_rec_key = N;
		f.n_rec_value = N;
		f.rec_subtask = sub;
		f.rec_seq = seq;
		f.rec_key = key;
		f.rec_value = val;
		m = pack_msg(&f);
	}
	free(sub);
	free(seq);
	free(key);
	free(val);
	T_TRUE(m != NULL);
	T_TRUE(nng_msg_len(m) > SM_FRAME_MAX_BYTES);
	int ok = expect_rejected(m, "40000-record frame");
	nng_msg_free(m);
	T_TRUE(ok);
}

static const struct sm_test tests[] = {
#define T(name) { #name, name }
	T(records_frame_round_trips_a_full_batch_and_empties_it),
	T(records_frame_of_a_partial_batch_holds_just_those_records),
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
