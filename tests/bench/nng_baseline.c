/*
 * nng_baseline.c - what bare NNG moves over the hops of snapmark's data
 * plane benchmark, with no snapmark logic at all.
 *
 * snapmark's data-plane row runs gen -> passthrough -> discard: two pair1
 * ipc channels in a chain, each frame ~44 KiB (1024 records of 44 bytes
 * packed as columns and a payload), 16 frames buffered on each side of a
 * channel. This program builds the same chain out of three threads of one
 * process (as the three tasks of a one-worker cluster are):
 *
 *   producer --pair1 ipc--> relay --pair1 ipc--> consumer
 *
 * The producer allocates and fills a message of --frame-bytes, the relay
 * forwards each message as it is (no decode, no re-encode), the consumer
 * frees it. The consumer counts the frames that arrive between the end of
 * the warm-up and the end of the run; the result is printed as one line of
 * key=value pairs for scripts/bench:
 *
 *   frames=N seconds=S frames_per_s=F records_per_s=R mb_per_s=M
 *   total_frames=T cpu_s=C records_per_cpu_s=P
 *
 * where the last three count every frame of the run against the CPU time
 * of the whole process (getrusage), the figure least disturbed by other
 * load on a shared machine.
 * records_per_s counts --records-per-frame records per frame (1024, as
 * snapmark's SM_FRAME_RECORDS), so it compares directly with the
 * records/s of the snapmark job; MB/s is 10^6 bytes of frame per second.
 * Nothing here is timed against a target: it only measures.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

/* Matches common/channel.c: frames buffered on each side of a channel. */
#define BASELINE_BUFFER_FRAMES 16

/* How often a blocked thread looks at the stop flag. */
#define BASELINE_POLL_MS 20

struct baseline {
	size_t frame_bytes;
	unsigned records_per_frame;
	double seconds, warmup;
	char url[2][256];
	nng_socket prod_out, relay_in, relay_out, cons_in;
	atomic_int stop;
	uint64_t frames;      /* consumer: counted between warm-up and end */
	uint64_t total;       /* consumer: every frame received */
	double measured_s;
};

static double
baseline_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int
baseline_socket(nng_socket *s)
{
	int rv;
	if ((rv = nng_pair1_open(s)) != 0 ||
	    (rv = nng_socket_set_int(*s, NNG_OPT_SENDBUF,
	         BASELINE_BUFFER_FRAMES)) != 0 ||
	    (rv = nng_socket_set_int(*s, NNG_OPT_RECVBUF,
	         BASELINE_BUFFER_FRAMES)) != 0 ||
	    (rv = nng_socket_set_size(*s, NNG_OPT_RECVMAXSZ, 1u << 20)) != 0 ||
	    (rv = nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO,
	         BASELINE_POLL_MS)) != 0 ||
	    (rv = nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO,
	         BASELINE_POLL_MS)) != 0)
		return rv;
	return 0;
}

/* baseline_send sends msg, retrying on the poll timeout until stopped.
 * Returns 0 when sent (NNG owns msg), else the caller still owns it. */
static int
baseline_send(struct baseline *b, nng_socket s, nng_msg *msg)
{
	while (!atomic_load(&b->stop)) {
		int rv = nng_sendmsg(s, msg, 0);
		if (rv == 0)
			return 0;
		if (rv != NNG_ETIMEDOUT)
			return rv;
	}
	return NNG_ECLOSED;
}

static void *
baseline_producer(void *arg)
{
	struct baseline *b = arg;
	uint64_t seq = 0;
	while (!atomic_load(&b->stop)) {
		nng_msg *msg;
		if (nng_msg_alloc(&msg, b->frame_bytes) != 0)
			break;
		/* Write every byte, as packing a real frame does. */
		memset(nng_msg_body(msg), (int) (seq & 0xff), b->frame_bytes);
		memcpy(nng_msg_body(msg), &seq, sizeof(seq));
		if (baseline_send(b, b->prod_out, msg) != 0) {
			nng_msg_free(msg);
			break;
		}
		seq++;
	}
	return NULL;
}

static void *
baseline_relay(void *arg)
{
	struct baseline *b = arg;
	while (!atomic_load(&b->stop)) {
		nng_msg *msg;
		int rv = nng_recvmsg(b->relay_in, &msg, 0);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv != 0)
			break;
		if (baseline_send(b, b->relay_out, msg) != 0) {
			nng_msg_free(msg);
			break;
		}
	}
	return NULL;
}

static void *
baseline_consumer(void *arg)
{
	struct baseline *b = arg;
	double start = baseline_now();
	double t0 = start + b->warmup, t1 = t0 + b->seconds;
	double first = 0, last = 0;
	uint64_t n = 0, expect = 0;
	while (!atomic_load(&b->stop)) {
		nng_msg *msg;
		int rv = nng_recvmsg(b->cons_in, &msg, 0);
		double now = baseline_now();
		if (rv == 0) {
			uint64_t seq;
			memcpy(&seq, nng_msg_body(msg), sizeof(seq));
			if (seq != expect || nng_msg_len(msg) != b->frame_bytes)
				fprintf(stderr, "nng_baseline: frame %llu "
				                "out of order or short\n",
				    (unsigned long long) seq);
			expect = seq + 1;
			nng_msg_free(msg);
			if (now >= t0 && now < t1) {
				if (n == 0)
					first = now;
				last = now;
				n++;
			}
		} else if (rv != NNG_ETIMEDOUT) {
			break;
		}
		if (now >= t1)
			atomic_store(&b->stop, 1);
	}
	/* Rate over the frames counted: n - 1 intervals between the first
	 * and the last counted arrival. */
	b->frames = n;
	b->total = expect;
	b->measured_s = n > 1 ? last - first : 0;
	return NULL;
}

static void
baseline_usage(FILE *f)
{
	fprintf(f,
	    "usage: nng_baseline [--seconds S] [--warmup S] [--frame-bytes N]\n"
	    "                    [--records-per-frame N] [--dir DIR]\n"
	    "  --seconds S            measured time (default 3)\n"
	    "  --warmup S             unmeasured start (default 0.5)\n"
	    "  --frame-bytes N        bytes per message (default 45078: a "
	    "snapmark frame\n"
	    "                         of 1024 records)\n"
	    "  --records-per-frame N  records a frame stands for (default "
	    "1024)\n"
	    "  --dir DIR              where the ipc sockets go (default "
	    "/tmp)\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "frame-bytes", required_argument, NULL, 'b' },
		{ "records-per-frame", required_argument, NULL, 'r' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct baseline b;
	memset(&b, 0, sizeof(b));
	b.frame_bytes = 45078;
	b.records_per_frame = 1024;
	b.seconds = 3;
	b.warmup = 0.5;
	const char *dir = "/tmp";
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			b.seconds = atof(optarg);
			break;
		case 'w':
			b.warmup = atof(optarg);
			break;
		case 'b':
			b.frame_bytes = (size_t) strtoul(optarg, NULL, 10);
			break;
		case 'r':
			b.records_per_frame = (unsigned) strtoul(optarg, NULL,
			    10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			baseline_usage(stdout);
			return 0;
		default:
			baseline_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || b.seconds <= 0 || b.warmup < 0 ||
	    b.frame_bytes < sizeof(uint64_t) || b.frame_bytes > (1u << 20)) {
		baseline_usage(stderr);
		return 2;
	}
	for (int i = 0; i < 2; i++)
		snprintf(b.url[i], sizeof(b.url[i]), "ipc://%s/nngb-%d-%d",
		    dir, (int) getpid(), i);

	int rv;
	if ((rv = baseline_socket(&b.prod_out)) != 0 ||
	    (rv = baseline_socket(&b.relay_in)) != 0 ||
	    (rv = baseline_socket(&b.relay_out)) != 0 ||
	    (rv = baseline_socket(&b.cons_in)) != 0 ||
	    (rv = nng_listen(b.relay_in, b.url[0], NULL, 0)) != 0 ||
	    (rv = nng_listen(b.cons_in, b.url[1], NULL, 0)) != 0 ||
	    (rv = nng_dial(b.prod_out, b.url[0], NULL, 0)) != 0 ||
	    (rv = nng_dial(b.relay_out, b.url[1], NULL, 0)) != 0) {
		fprintf(stderr, "nng_baseline: setting up the chain: %s\n",
		    nng_strerror(rv));
		return 1;
	}

	pthread_t th[3];
	pthread_create(&th[0], NULL, baseline_consumer, &b);
	pthread_create(&th[1], NULL, baseline_relay, &b);
	pthread_create(&th[2], NULL, baseline_producer, &b);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	nng_close(b.prod_out);
	nng_close(b.relay_in);
	nng_close(b.relay_out);
	nng_close(b.cons_in);
	for (int i = 0; i < 2; i++)
		unlink(b.url[i] + strlen("ipc://"));

	if (b.frames < 2 || b.measured_s <= 0) {
		fprintf(stderr, "nng_baseline: too few frames measured (%llu)\n",
		    (unsigned long long) b.frames);
		return 1;
	}
	double fps = (double) (b.frames - 1) / b.measured_s;
	/* CPU time of the whole process (all threads, NNG's included) per
	 * record moved: far less sensitive than wall time to whatever else
	 * runs on a shared machine. */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	    (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
	printf("frames=%llu seconds=%.3f frames_per_s=%.1f records_per_s=%.0f "
	       "mb_per_s=%.1f total_frames=%llu cpu_s=%.3f "
	       "records_per_cpu_s=%.0f\n",
	    (unsigned long long) b.frames, b.measured_s, fps,
	    fps * b.records_per_frame, fps * (double) b.frame_bytes / 1e6,
	    (unsigned long long) b.total, cpu,
	    cpu > 0 ? (double) b.total * b.records_per_frame / cpu : 0.0);
	return 0;
}
