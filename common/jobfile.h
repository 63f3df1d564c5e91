/*
 * jobfile.h - the job: stages, their operators, the edges between them and
 * the checkpoint settings, parsed from an INI job file.
 *
 * Every process parses the same text (the coordinator ships it to workers in
 * Deploy), so the derived numbering below is identical everywhere:
 *
 *   task index    stages in file order, subtasks 0..parallelism-1 within
 *                 each: task = stage->first_task + subtask
 *   channel index for each stage in file order, for each of its inputs in
 *                 file order, for each (upstream subtask, subtask) pair the
 *                 edge connects, upstream-major: one directed channel each
 *                 (forward connects u == d only: parallelism channels;
 *                 hash and broadcast connect all pairs: pu * pd channels)
 *
 * The format and its rules are documented for users in docs/JOBFILE.md.
 * Errors name the line: "job.ini:12: unknown operator 'cuont'".
 *
 * A stage with `library = PATH` runs a user operator (SM_OP_USER): the
 * parser resolves PATH against the job's directory (sm_job_dir) and keeps
 * every key of the stage it does not consume itself, with its line, as an
 * option for the operator's configure (sm_job_options). Loading the
 * library is sdk/'s business: this file never opens it. A stage naming a
 * built-in SDK operator (operator = lines, window_count) without a library
 * is parsed the same way, with library "" (sdk/ finds it by name).
 */
#ifndef SM_JOBFILE_H
#define SM_JOBFILE_H

#include <stddef.h>
#include <stdint.h>

#include "snapmark/snapmark.h"

#define SM_JOB_MAX_STAGES 64
#define SM_JOB_MAX_INPUTS 8
#define SM_JOB_MAX_OPTIONS 16
#define SM_JOB_NAME_MAX 64
/* Bytes of the text a job keeps besides its fixed fields: its directory,
 * the library paths and the options of user operators (struct
 * sm_job.pool). */
#define SM_JOB_POOL_MAX 65536

enum sm_operator {
	SM_OP_GEN,         /* source: deterministic records */
	SM_OP_PASSTHROUGH, /* stateless relay */
	SM_OP_COUNT,       /* keyed running count, results at end of input */
	SM_OP_FILE_SINK,   /* writes output/part-* */
	SM_OP_DISCARD,     /* sink that drops everything (benchmarks) */
	SM_OP_USER,        /* a user operator from a shared object (the
	                      stage has library = PATH; docs/SDK.md) */
};

enum sm_edge { SM_EDGE_FORWARD, SM_EDGE_HASH, SM_EDGE_BROADCAST };

enum sm_ckpt_mode { SM_MODE_EXACTLY_ONCE, SM_MODE_AT_LEAST_ONCE };

struct sm_job_input {
	int stage;          /* upstream stage index */
	enum sm_edge edge;
	int first_channel;  /* channel index of (upstream 0, subtask 0) */
};

struct sm_job_stage {
	char name[SM_JOB_NAME_MAX];
	enum sm_operator op;
	int parallelism;
	int max_parallelism;     /* key groups of a keyed stage; default 128,
	                            or parallelism if that is larger; set
	                            for every stage after parsing */
	int first_task;
	int n_inputs;
	struct sm_job_input inputs[SM_JOB_MAX_INPUTS];
	/* gen options */
	uint64_t records;        /* per subtask; 0 = unbounded */
	uint64_t keys;           /* key space size, >= 1 */
	uint64_t rate;           /* records/s per subtask; 0 = unlimited */
	uint64_t seed;
	/* file sink options */
	char format[16];         /* "records", "counts" or "text"; after
	                            parsing set for every file stage
	                            (default: counts if its first input is
	                            a count), "" for other operators */
	uint32_t sink_path;      /* path = DIR as written, an offset in the
	                            job's pool; 0 = RUN/output
	                            (sm_job_sink_path) */
	int line;                /* line of the [stage ...] header */
	/* user operators (op == SM_OP_USER) */
	char user_op[SM_JOB_NAME_MAX]; /* operator = NAME: the library's
	                                  snapmark_operator_v1_NAME */
	uint32_t library;        /* the absolute path of the library, as an
	                            offset in the job's pool (sm_job_library) */
	int library_line;
	int operator_line;
	int n_options;           /* keys the runtime does not consume */
	struct sm_job_option {
		uint32_t key;    /* offsets in the job's pool */
		uint32_t value;
		int line;
	} options[SM_JOB_MAX_OPTIONS];
};

struct sm_job_checkpoint {
	uint64_t interval_ms;    /* 0 = no periodic checkpoints */
	uint64_t timeout_ms;
	uint64_t min_pause_ms;
	uint32_t retained;       /* completed checkpoints kept, >= 1 */
	enum sm_ckpt_mode mode;
	uint32_t tolerable_failures;
	uint32_t incremental;        /* 1: keyed state checkpoints as deltas */
	uint32_t full_every;         /* a full snapshot after this many deltas */
	uint32_t full_delta_percent; /* ... or once deltas since the last full
	                                one exceed this % of the full size */
	uint32_t fail_on_storage_error; /* 1: a checkpoint declined for a full
	                                   disk or map counts against
	                                   tolerable_failures like any other */
};

/* [restart]: what the coordinator does when an epoch fails (Flink's
 * fixed-delay and exponential-delay restart strategies). */
enum sm_restart_strategy {
	SM_RESTART_FIXED_DELAY,
	SM_RESTART_EXPONENTIAL_DELAY,
	SM_RESTART_NONE, /* the first failure fails the job */
};

struct sm_job_restart {
	enum sm_restart_strategy strategy;
	uint32_t attempts;       /* restarts allowed since the last reset */
	uint64_t delay_ms;       /* fixed delay; first exponential delay */
	uint64_t max_delay_ms;   /* exponential: the cap */
	double multiplier;       /* exponential: factor per restart, >= 1 */
	uint64_t reset_after_ms; /* running this long without a failure
	                            resets attempts and delay; 0 = never */
};

struct sm_job {
	char name[SM_JOB_NAME_MAX];
	int n_stages;
	struct sm_job_stage stages[SM_JOB_MAX_STAGES];
	int n_tasks;
	int n_channels;
	struct sm_job_checkpoint checkpoint;
	uint64_t heartbeat_ms;          /* worker heartbeat period */
	uint64_t heartbeat_timeout_ms;  /* silence after which a worker is dead */
	struct sm_job_restart restart;
	int http_port; /* coordinator's HTTP server on 127.0.0.1; -1: none,
	                  0: any free port */
	/* Strings of variable length, NUL-terminated, found by offset:
	 * offset 0 is "". Kept in the struct so that a job stays one block
	 * that copies by value. */
	uint32_t dir;       /* the directory relative library paths are
	                       resolved against (sm_job_dir) */
	uint32_t pool_used;
	char pool[SM_JOB_POOL_MAX];
};

/* One directed channel, derived from the stages. */
struct sm_job_channel {
	int index;
	int from_task;
	int to_task;
	int to_input;      /* which input (edge) of the receiving stage */
};

/*
 * sm_job_parse parses job text. `origin` names it in errors (a file name).
 * On success fills *job and returns SM_OK. On failure returns SM_EINVAL and
 * writes a one-line message "origin:LINE: what is wrong" into err.
 * Relative library paths are resolved against the current directory.
 */
int sm_job_parse(const char *text, const char *origin, struct sm_job *job,
    char *err, size_t errlen);

/* sm_job_parse_in is sm_job_parse with relative library paths resolved
 * against dir, an absolute directory (the job file's: every process that
 * parses the job resolves them alike; Deploy carries it). NULL: the
 * current directory. */
int sm_job_parse_in(const char *text, const char *origin, const char *dir,
    struct sm_job *job, char *err, size_t errlen);

/* sm_job_load reads the file at path and parses it, with path as origin
 * and the file's directory (made absolute, symlinks kept) as its dir;
 * *text_out (if not NULL) receives the file contents, malloc'ed, owned by
 * the caller; it is written only on success. Returns SM_EIO if the file
 * cannot be read ("cannot read PATH: reason" in err), SM_ENOMEM, or
 * SM_EINVAL if it is not a valid job (also: larger than 1 MiB, or a NUL
 * byte in it). */
int sm_job_load(const char *path, struct sm_job *job, char **text_out,
    char *err, size_t errlen);

/* sm_job_load_in is sm_job_load with relative library paths resolved
 * against dir instead of the file's directory (NULL: the file's): for a
 * copy of a job file run in place of the original (scripts/cluster). */
int sm_job_load_in(const char *path, const char *dir, struct sm_job *job,
    char **text_out, char *err, size_t errlen);

/* sm_job_task_stage returns the stage index of a task, or -1. */
int sm_job_task_stage(const struct sm_job *job, int task);

/* sm_job_task_name writes "stage.subtask" into buf ("#task" for a task
 * that does not exist). */
void sm_job_task_name(const struct sm_job *job, int task, char *buf,
    size_t len);

/* sm_job_channel returns the channel with that index (0 <= index <
 * n_channels) in *out, or SM_EINVAL if there is none. */
int sm_job_channel(const struct sm_job *job, int index,
    struct sm_job_channel *out);

/* sm_job_is_source: the stage has no inputs (its operator is a source:
 * gen, or a user operator without input, which sdk/ checks is one). 0 for
 * a stage index out of range. */
int sm_job_is_source(const struct sm_job *job, int stage);

/* sm_job_key_group maps a key (its len bytes) to its key group in
 * [0, max_parallelism): sm_key_group_bytes (common/keygroup.h, the hash
 * keyed state files entries under too; 0 if max_parallelism <= 0). A hash
 * edge into stage S sends a record with key k to subtask
 * sm_job_key_group_owner(sm_job_key_group(k, len, S.max_parallelism),
 * S.max_parallelism, S.parallelism) of S. */
int sm_job_key_group(const void *key, uint32_t len, int max_parallelism);

/* sm_job_key_group_owner maps a key group to the subtask that owns it:
 * key_group * parallelism / max_parallelism, so each subtask owns one
 * contiguous range of key groups (Flink's assignment). */
int sm_job_key_group_owner(int key_group, int max_parallelism,
    int parallelism);

/* sm_job_restart_delay_ms is the delay before restart number n (1 = the
 * first since the last reset) under r: delay_ms for fixed-delay;
 * delay_ms * multiplier^(n-1), capped at max_delay_ms, for
 * exponential-delay; 0 for none. */
uint64_t sm_job_restart_delay_ms(const struct sm_job_restart *r, uint32_t n);

/* sm_restart_strategy_name: "fixed-delay", "exponential-delay", "none". */
const char *sm_restart_strategy_name(enum sm_restart_strategy s);

/* sm_job_dir: the absolute directory relative library paths were
 * resolved against ("" if the current one could not be found). */
const char *sm_job_dir(const struct sm_job *job);

/* sm_job_library: the absolute path of a user stage's library ("" for a
 * built-in SDK operator: operator = lines without a library); NULL for a
 * built-in operator or a stage out of range. */
const char *sm_job_library(const struct sm_job *job, int stage);

/* sm_job_sink_path: the output directory of a file stage as the job
 * writes it (path = DIR; relative to the run directory), or NULL when it
 * has none (RUN/output) or is no file stage. */
const char *sm_job_sink_path(const struct sm_job *job, int stage);

/* The longest path = DIR of a file sink. */
#define SM_JOB_PATH_MAX 400

/* sm_job_operator_name: the operator of a stage as the job names it (a
 * user operator's own name; "?" for a stage out of range). */
const char *sm_job_operator_name(const struct sm_job *job, int stage);

/* sm_job_options fills out[0..max) with a user stage's options, in file
 * order (pointers into job, valid while it is); returns how many the
 * stage has (0 for a built-in operator). */
size_t sm_job_options(const struct sm_job *job, int stage,
    struct snapmark_option *out, size_t max);

/* sm_job_user_operators: how many stages run a user operator. */
int sm_job_user_operators(const struct sm_job *job);

/* sm_operator_name: a built-in operator's name; "user" for SM_OP_USER
 * (sm_job_operator_name names it). */
const char *sm_operator_name(enum sm_operator op);
const char *sm_edge_name(enum sm_edge edge);

#endif
