#!/usr/bin/env python3
"""tests/bench/run.py - the measurements behind scripts/bench.

scripts/bench builds build-bench/ and then runs this file, which owns every
measurement of docs/BENCHMARKS.md: it starts clusters with scripts/cluster
(or a bare coordinator for the scale row), reads the results back through
the project's own interfaces (the `snapmark --json` CLI, the processes'
logs) and appends every raw number to a CSV (row, config, repetition,
metric, value). tests/bench/report.py turns that CSV into the report.

Comparisons are interleaved: repetition r runs every configuration of a row
once before repetition r + 1 starts, so slow drift of this shared machine
hits every configuration alike. Nothing here asserts a target; a run that
fails records an `error` value and the bench goes on.

usage: run.py --build DIR --out CSV --meta JSON --profile-dir DIR [--quick]
              [--rows dataplane,latency,...]
"""

import argparse
import atexit
import csv
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "scripts", "cluster")

# Bytes of one snapmark RECORDS frame of 1024 gen records (packed columns:
# 4 + 4 + 8 bytes of key_len, value_len, timestamp per record, a payload of
# 8-byte keys and 20-byte values, plus the frame header). The NNG baseline
# sends messages of exactly this size.
FRAME_BYTES = 45078
FRAME_RECORDS = 1024
RECORD_BYTES = FRAME_BYTES / FRAME_RECORDS


def log(msg):
    print("bench: " + msg, flush=True)


class Bench:
    def __init__(self, args):
        self.quick = args.quick
        self.build = os.path.abspath(args.build)
        self.cli_bin = os.path.join(self.build, "coordinator", "snapmark")
        self.coord_bin = os.path.join(self.build, "coordinator", "snapmark-coordinator")
        self.tests = os.path.join(self.build, "tests")
        # ipc socket paths must stay short: a private dir directly in /tmp.
        self.base = tempfile.mkdtemp(prefix="smb.", dir="/tmp")
        self.out = open(args.out, "w", newline="")
        self.csv = csv.writer(self.out)
        self.csv.writerow(["row", "config", "repetition", "metric", "value"])
        self.meta = {"quick": self.quick, "rows": {}}
        self.meta_path = args.meta
        self.profile_dir = args.profile_dir
        self.children = []
        self.runs = []

    # ------------------------------------------------------------ records

    def rec(self, row, config, rep, metric, value):
        if isinstance(value, float):
            value = "%.6g" % value
        self.csv.writerow([row, config, rep, metric, value])
        self.out.flush()

    def note(self, row, key, value):
        self.meta["rows"].setdefault(row, {})[key] = value

    # ------------------------------------------------------ processes

    def env(self, run):
        e = dict(os.environ)
        e["SNAPMARK_BUILD_DIR"] = self.build
        e["SNAPMARK_RUN_DIR"] = run
        e["SNAPMARK_DOWN_GRACE_S"] = "3"
        return e

    def run_dir(self, name):
        path = os.path.join(self.base, name)
        self.runs.append(path)
        return path

    def cluster(self, run, *args, check=True, timeout=60):
        p = subprocess.run([CLUSTER, *args], env=self.env(run), timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and p.returncode != 0:
            raise RuntimeError("scripts/cluster %s failed: %s" % (" ".join(args), p.stdout.strip()[-400:]))
        return p

    def down(self, run):
        try:
            self.cluster(run, "down", check=False, timeout=30)
        except Exception:
            pass

    def cli(self, run, *args, timeout=10):
        p = subprocess.run([self.cli_bin, "--run-dir", run, "--json", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("snapmark %s: %s" % (" ".join(args), p.stderr.strip()))
        return json.loads(p.stdout)

    def status(self, run):
        try:
            return self.cli(run, "status")
        except Exception:
            return None

    def wait_for(self, what, fn, timeout, poll=0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(poll)
        raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))

    def wait_latest(self, run, at_least, timeout):
        def ok():
            st = self.status(run)
            return st if st and int(st.get("latest_completed", 0)) >= at_least else None
        return self.wait_for("checkpoint %d" % at_least, ok, timeout)

    def job(self, run, text):
        os.makedirs(self.base, exist_ok=True)
        path = os.path.join(self.base, os.path.basename(run) + ".ini")
        with open(path, "w") as f:
            f.write(text)
        return path

    @staticmethod
    def stop(p, grace=10):
        """SIGTERM p if it still runs; SIGKILL after `grace` seconds."""
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def coordinator(self, run, job, workers):
        """A bare coordinator for `workers` fake workers, logging to
        RUN/coordinator.log; returns (process, log file)."""
        clog = open(os.path.join(run, "coordinator.log"), "w")
        coord = subprocess.Popen([self.coord_bin, "--job", job, "--run-dir", run,
                                  "--workers", str(workers)],
                                 stdout=clog, stderr=subprocess.STDOUT)
        self.children.append(coord)
        return coord, clog

    def cleanup(self):
        for p in self.children:
            self.stop(p, 5)
        for run in self.runs:
            if os.path.isdir(run):
                self.down(run)
        shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------- logs

    @staticmethod
    def log_time(line):
        """Seconds since 1970 of a log line's ISO-8601 UTC timestamp."""
        ts = line.split(" ", 1)[0].rstrip("Z")
        t = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f")
        return t.replace(tzinfo=dt.timezone.utc).timestamp()

    @staticmethod
    def grep_log(path, pattern):
        rx = re.compile(pattern)
        out = []
        with open(path, errors="replace") as f:
            for line in f:
                m = rx.search(line)
                if m:
                    out.append((line, m))
        return out

    def checkpoints(self, run):
        return sorted(self.cli(run, "checkpoints")["checkpoints"], key=lambda r: int(r["id"]))

    # ------------------------------------------------- row 1+2: data plane

    def dataplane_job(self, interval_ms, records):
        return f"""; data plane: gen -> passthrough -> discard, one subtask each
[job]
name = dataplane
[checkpoint]
interval_ms = {interval_ms}
timeout_ms = 10000
[stage source]
operator = gen
records = {records}
rate = 0
[stage relay]
operator = passthrough
input = source forward
[stage drop]
operator = discard
input = relay forward
"""

    def dataplane_once(self, name, interval_ms, records):
        """One bounded job on a one-worker cluster: records / (all tasks
        RUNNING -> the sink's end of input), from the logs."""
        run = self.run_dir(name)
        job = self.job(run, self.dataplane_job(interval_ms, records))
        try:
            self.cluster(run, "up", job, "1")
            self.cluster(run, "wait", "120", timeout=130)
            clog = os.path.join(run, "logs", "coordinator.log")
            wlog = os.path.join(run, "logs", "worker-1.log")
            t0 = self.log_time(self.grep_log(clog, r"epoch 1: all \d+ tasks running")[0][0])
            t1 = self.log_time(self.grep_log(wlog, r"task drop\.0: end of input")[0][0])
            cps = [r for r in self.checkpoints(run) if not r.get("final")]
            done = sum(1 for r in cps if r["status"] == "COMPLETED")
            failed = sum(1 for r in cps if r["status"] == "FAILED")
            # CPU time the worker process used for the whole job (all its
            # threads): records per CPU-second is far steadier than wall
            # time on a shared machine.
            pid = open(os.path.join(run, "pids", "worker-1.pid")).read().strip()
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            return records / (t1 - t0), t1 - t0, done, failed, records / cpu if cpu else 0
        finally:
            self.down(run)
            shutil.rmtree(run, ignore_errors=True)

    def nng_once(self, seconds):
        p = subprocess.run([os.path.join(self.tests, "nng_baseline"), "--seconds", str(seconds),
                            "--warmup", "0.5", "--frame-bytes", str(FRAME_BYTES),
                            "--records-per-frame", str(FRAME_RECORDS), "--dir", self.base],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("nng_baseline: " + p.stderr.strip())
        kv = dict(x.split("=") for x in p.stdout.split())
        return float(kv["records_per_s"]), float(kv["records_per_cpu_s"])

    def row_dataplane(self):
        reps = 2 if self.quick else 12
        target_s = 1.5 if self.quick else 2.0
        # Calibrate the bounded job to last ~target_s with checkpoints off
        # (also warms the page cache and the binaries).
        rate, secs, _, _, _ = self.dataplane_once("cal", 0, 5_000_000)
        records = max(1_000_000, int(rate * target_s / 1_000_000) * 1_000_000)
        log("data plane: calibration %.2f M records/s; %d records per run, %d repetitions"
            % (rate / 1e6, records, reps))
        self.note("dataplane", "records", records)
        self.note("dataplane", "repetitions", reps)
        self.note("dataplane", "baseline_seconds", target_s)
        configs = [("nng", None), ("cp-off", 0), ("cp-1s", 1000), ("cp-100ms", 100), ("cp-10ms", 10)]
        for r in range(1, reps + 1):
            # Rotate the order each repetition, so no configuration always
            # runs first (or right after the baseline).
            k = (r - 1) % len(configs)
            for cfg, interval in configs[k:] + configs[:k]:
                try:
                    if interval is None:
                        v, cpu = self.nng_once(target_s)
                        self.rec("dataplane", cfg, r, "records_per_s", v)
                        self.rec("dataplane", cfg, r, "mb_per_s", v * RECORD_BYTES / 1e6)
                        self.rec("dataplane", cfg, r, "records_per_cpu_s", cpu)
                    else:
                        v, secs, done, failed, cpu = self.dataplane_once("dp-%s-%d" % (cfg, r), interval,
                                                                         records)
                        self.rec("dataplane", cfg, r, "records_per_cpu_s", cpu)
                        self.rec("dataplane", cfg, r, "records_per_s", v)
                        self.rec("dataplane", cfg, r, "mb_per_s", v * RECORD_BYTES / 1e6)
                        self.rec("dataplane", cfg, r, "seconds", secs)
                        self.rec("dataplane", cfg, r, "checkpoints_completed", done)
                        self.rec("dataplane", cfg, r, "checkpoints_failed", failed)
                    log("data plane rep %d %-8s %.2f M records/s" % (r, cfg, v / 1e6))
                except Exception as e:
                    log("data plane rep %d %s: %s" % (r, cfg, e))
                    self.rec("dataplane", cfg, r, "error", str(e)[:200])

    # -------------------------------- row 3+4: checkpoint latency, back-pressure

    def collect_latency(self, row, cfg, run, warm, want, interval_ms, timeout):
        """Wait for `want` checkpoints after the first `warm`, then record
        duration and per-task times of each from `snapmark --json show`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status(run)
            cps = self.checkpoints(run) if st else []
            ended = [c for c in cps if int(c["id"]) > warm and c["status"] != "PENDING"]
            if len(ended) >= want:
                break
            time.sleep(max(0.05, interval_ms / 1000.0))
        cps = [c for c in self.checkpoints(run) if int(c["id"]) > warm and c["status"] != "PENDING"]
        cps = cps[:want]
        # Trigger -> durably committed, from the coordinator's log (the
        # record's duration_us stops at the last ack, before its commit).
        committed = {}
        for line, m in self.grep_log(os.path.join(run, "logs", "coordinator.log"),
                                     r"checkpoint (\d+) completed in ([0-9.]+) ms .*commit ([0-9.]+) ms"):
            committed[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
        failed = 0
        for c in cps:
            cid = int(c["id"])
            if c["status"] != "COMPLETED":
                failed += 1
                self.rec(row, cfg, cid, "failed", 1)
                self.rec(row, cfg, cid, "failure", c.get("failure_reason", "")[:160])
                # Which tasks did acknowledge: a source missing here never
                # got (or never acted on) its trigger.
                try:
                    rec = self.cli(run, "show", str(cid))
                    names = [t.get("task_name", "") for t in rec.get("tasks", [])]
                    self.rec(row, cfg, cid, "failed_acked_sources",
                             sum(1 for x in names if x.startswith("source.")))
                    self.rec(row, cfg, cid, "failed_acked_total", len(names))
                except Exception:
                    pass
                continue
            self.rec(row, cfg, cid, "duration_us", int(c["duration_us"]))
            if cid in committed:
                self.rec(row, cfg, cid, "committed_us", int(committed[cid][0] * 1000))
                self.rec(row, cfg, cid, "commit_us", int(committed[cid][1] * 1000))
            rec = self.cli(run, "show", str(cid))
            tasks = rec.get("tasks", [])
            if tasks:
                self.rec(row, cfg, cid, "align_us_max", max(int(t.get("align_us", 0)) for t in tasks))
                self.rec(row, cfg, cid, "sync_us_max", max(int(t.get("sync_us", 0)) for t in tasks))
                self.rec(row, cfg, cid, "async_us_max", max(int(t.get("async_us", 0)) for t in tasks))
        return len(cps) - failed, failed

    def latency_job(self, n, load, interval_ms):
        p = n // 2
        rate = 0 if load else 10
        return f"""; checkpoint latency: {n} tasks, {'full load' if load else 'idle'}
[job]
name = latency-{n}-{'load' if load else 'idle'}
[checkpoint]
interval_ms = {interval_ms}
timeout_ms = 5000
[stage source]
operator = gen
parallelism = {p}
rate = {rate}
[stage sink]
operator = discard
parallelism = {p}
input = source hash
"""

    def row_latency(self):
        ns = [2, 8, 32] if self.quick else [2, 4, 8, 16, 32]
        want = 8 if self.quick else 40
        interval = 100
        warm = 2
        self.note("latency", "tasks", ns)
        self.note("latency", "checkpoints_per_config", want)
        self.note("latency", "interval_ms", interval)
        for n in ns:
            for load in (False, True):
                cfg = "N=%d %s" % (n, "load" if load else "idle")
                run = self.run_dir("lat-%d-%d" % (n, load))
                job = self.job(run, self.latency_job(n, load, interval))
                try:
                    self.cluster(run, "up", job, "2")
                    ok, failed = self.collect_latency("latency", cfg, run, warm, want, interval,
                                                      timeout=want * interval / 1000.0 * 4 + 20)
                    log("latency %-12s %d completed, %d failed" % (cfg, ok, failed))
                except Exception as e:
                    log("latency %s: %s" % (cfg, e))
                    self.rec("latency", cfg, 0, "error", str(e)[:200])
                finally:
                    self.down(run)
                    shutil.rmtree(run, ignore_errors=True)

    def backpressure_job(self, sink):
        extra = "format = records\n" if sink == "file" else ""
        return f"""; back-pressure: gen -> passthrough -> {sink}
[job]
name = backpressure-{sink}
[checkpoint]
interval_ms = 100
timeout_ms = 10000
[stage source]
operator = gen
rate = 0
[stage relay]
operator = passthrough
input = source forward
[stage sink]
operator = {sink}
{extra}input = relay forward
"""

    def row_backpressure(self):
        reps = 1 if self.quick else 2
        want = 8 if self.quick else 20
        self.note("backpressure", "repetitions", reps)
        self.note("backpressure", "checkpoints_per_run", want)
        for r in range(1, reps + 1):
            for sink in ("discard", "file"):
                cfg = "sink=%s" % sink
                run = self.run_dir("bp-%s-%d" % (sink, r))
                job = self.job(run, self.backpressure_job(sink))
                try:
                    self.cluster(run, "up", job, "1")
                    t0 = time.monotonic()
                    ok, failed = self.collect_latency("backpressure", cfg, run, 2, want, 100,
                                                      timeout=want * 0.1 * 6 + 20)
                    log("back-pressure rep %d %-12s %d completed, %d failed (%.1f s)"
                        % (r, cfg, ok, failed, time.monotonic() - t0))
                except Exception as e:
                    log("back-pressure %s: %s" % (cfg, e))
                    self.rec("backpressure", cfg, r, "error", str(e)[:200])
                finally:
                    self.down(run)
                    shutil.rmtree(run, ignore_errors=True)

    # ---------------------------------------- rows 5+6: sync pause, bytes

    def state_job(self, keys, name):
        # fill touches ~95% of the keys fast (3 records per key), trickle
        # then changes ~1% of them per 1 s checkpoint interval.
        return f"""; count state of {keys} keys, ~1% changed per interval
[job]
name = {name}
heartbeat_ms = 50
heartbeat_timeout_ms = 30000
[checkpoint]
interval_ms = 1000
timeout_ms = 60000
[stage fill]
operator = gen
records = {3 * keys}
keys = {keys}
seed = 1
[stage trickle]
operator = gen
rate = {max(1, keys // 100)}
keys = {keys}
seed = 2
[stage counter]
operator = count
input = fill hash
input = trickle hash
"""

    def counter_stats(self, run, cid):
        rec = self.cli(run, "show", str(cid))
        for t in rec.get("tasks", []):
            if t.get("task_name", "").startswith("counter."):
                return rec, t
        return rec, None

    def row_state(self):
        sizes = [10_000, 1_000_000] if self.quick else [10_000, 100_000, 1_000_000, 10_000_000]
        want = 2 if self.quick else 5
        self.note("state", "keys", sizes)
        self.note("state", "checkpoints_per_size", want)
        for keys in sizes:
            cfg = "keys=%d" % keys
            run = self.run_dir("st-%d" % keys)
            job = self.job(run, self.state_job(keys, "state-%d" % keys))
            try:
                self.cluster(run, "up", job, "1")
                # Wait until the fill source ended and a checkpoint after
                # it completed, then take `want` more.
                wlog = os.path.join(run, "logs", "worker-1.log")
                self.wait_for("fill to end", lambda: self.grep_log(wlog, r"task fill\.0: end of input"),
                              timeout=120, poll=0.2)
                st = self.wait_latest(run, 1, 120)
                # Settle: the first checkpoints after the fill still carry
                # its last changes (and at 10M keys the full snapshot the
                # writer materialises from them). Measure from the first
                # incremental one that holds no more than the trickle's
                # changes.
                first = int(st["latest_completed"])
                deadline = time.monotonic() + 120
                while True:
                    st = self.wait_latest(run, first, 120)
                    first = int(st["latest_completed"])
                    _, t = self.counter_stats(run, first)
                    h = (t or {}).get("handle", {})
                    if h.get("incremental") and int(h.get("entries", 0)) <= 2 * max(1, keys // 100):
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("the state never settled to the trickle's changes")
                    first += 1
                self.note("state", "first_measured_%d" % keys, first + 1)
                first += 1
                self.wait_latest(run, first + want - 1, timeout=want * 30 + 30)
                for cid in range(first, first + want):
                    rec, t = self.counter_stats(run, cid)
                    if rec.get("status") != "COMPLETED" or t is None:
                        self.rec("state", cfg, cid, "failed", 1)
                        continue
                    h = t.get("handle", {})
                    self.rec("state", cfg, cid, "sync_us", int(t.get("sync_us", 0)))
                    self.rec("state", cfg, cid, "async_us", int(t.get("async_us", 0)))
                    # entries/bytes: what this snapshot wrote (a delta or a
                    # full one); full_bytes: the full state it stands for.
                    self.rec("state", cfg, cid, "entries", int(h.get("entries", 0)))
                    self.rec("state", cfg, cid, "counter_bytes", int(h.get("bytes", 0)))
                    self.rec("state", cfg, cid, "full_bytes", int(h.get("full_bytes", h.get("bytes", 0))))
                    self.rec("state", cfg, cid, "incremental", 1 if h.get("incremental") else 0)
                    self.rec("state", cfg, cid, "checkpoint_bytes", int(rec.get("bytes", 0)))
                    self.rec("state", cfg, cid, "duration_us", int(rec.get("duration_us", 0)))
                    # Keys changed in one interval: at most the trickle's
                    # records per second (some repeat a key).
                    self.rec("state", cfg, cid, "changed_keys_max", max(1, keys // 100))
                log("state %-12s done" % cfg)
            except Exception as e:
                log("state %s: %s" % (cfg, e))
                self.rec("state", cfg, 0, "error", str(e)[:200])
            finally:
                self.down(run)
                shutil.rmtree(run, ignore_errors=True)

    # ------------------------------------------------------ row 7: recovery

    def recovery_small_job(self):
        return """; recovery, small state: 2 x (gen -> passthrough -> discard)
[job]
name = recovery-small
heartbeat_ms = 50
[checkpoint]
interval_ms = 200
[stage source]
operator = gen
parallelism = 2
rate = 0
[stage relay]
operator = passthrough
parallelism = 2
input = source forward
[stage drop]
operator = discard
parallelism = 2
input = relay forward
"""

    def stage_rate(self, st, stage, epoch=None):
        """(records in per second summed over `stage`'s running tasks,
        oldest sample time in us), from one `status --json`; None until
        every task of the stage reports a rate (of `epoch`, if given)."""
        if st is None or (epoch is not None and int(st.get("epoch", 0)) != epoch):
            return None
        ms = [m for m in st.get("task_metrics", []) if m.get("task_name", "").startswith(stage + ".")]
        if not ms or any("records_in_per_s" not in m for m in ms):
            return None
        return sum(float(m["records_in_per_s"]) for m in ms), min(int(m["sampled_us"]) for m in ms)

    def rate_before(self, run, stage, seconds):
        """Median records-in rate of `stage` over `seconds` of status polls."""
        rates, seen = [], set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            r = self.stage_rate(self.status(run), stage)
            if r is not None and r[1] not in seen:
                seen.add(r[1])
                rates.append(r[0])
            time.sleep(0.02)
        rates.sort()
        return rates[len(rates) // 2] if rates else None

    def caught_up(self, run, stage, epoch, target, killed_wall, timeout):
        """Wall ms from the kill to the first heartbeat of the new epoch at
        which `stage` takes in >= target records/s, and the rates seen
        until then as (ms since the kill, records/s)."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            r = self.stage_rate(self.status(run), stage, epoch)
            if r is not None:
                ms = (r[1] / 1e6 - killed_wall) * 1000.0
                if not seen or seen[-1][0] != ms:
                    seen.append((ms, r[0]))
                if r[0] >= target:
                    return ms, seen
            time.sleep(0.01)
        return None, seen

    def kill_restore(self, run, cfg, rep, victim, restarts_before, stage=None, pre_rate=None):
        """SIGKILL `victim`, start it again at once, wait until the job is
        RUNNING again; record what the coordinator measured. With a stage
        and its pre-kill rate, also wait until the stage is back at 90% of
        that rate."""
        # SIGKILL from here, so the clock starts at the signal itself
        # (scripts/cluster kill would add a shell's start-up).
        pid = int(open(os.path.join(run, "pids", victim + ".pid")).read())
        t0 = time.monotonic()
        killed_wall = time.time()
        os.kill(pid, signal.SIGKILL)

        def gone():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                return True
        self.wait_for(victim + " to die", gone, 10, 0.005)
        self.cluster(run, "start", victim)

        def resumed():
            st = self.status(run)
            if st and st.get("state") == "RUNNING" and int(st.get("restarts", 0)) > restarts_before \
                    and "last_restore_us" in st:
                return st
            return None
        st = self.wait_for("RUNNING after restore", resumed, timeout=120)
        wall = time.monotonic() - t0
        self.rec("recovery", cfg, rep, "restore_ms", int(st["last_restore_us"]) / 1000.0)
        self.rec("recovery", cfg, rep, "kill_to_running_ms_outside", wall * 1000.0)
        self.rec("recovery", cfg, rep, "restored_from", int(st.get("restored_from", 0)))
        if stage is not None and pre_rate:
            self.rec("recovery", cfg, rep, "pre_kill_records_per_s", pre_rate)
            ms, seen = self.caught_up(run, stage, int(st["epoch"]), 0.9 * pre_rate, killed_wall, 30)
            self.note("recovery", "rates_after_kill_%s_%d" % (cfg.replace(" ", "_"), rep),
                      [(round(a, 1), round(b)) for a, b in seen[:12]])
            if ms is None:
                self.rec("recovery", cfg, rep, "caught_up_failed", 1)
            else:
                self.rec("recovery", cfg, rep, "kill_to_caught_up_ms", ms)
        return int(st["restarts"]), int(st["last_restore_us"]) / 1000.0

    def row_recovery(self):
        reps = 2 if self.quick else 5
        self.note("recovery", "repetitions_small", reps)
        run = self.run_dir("rec-small")
        job = self.job(run, self.recovery_small_job())
        cfg = "small state"
        try:
            self.cluster(run, "up", job, "2")
            restarts = 0
            for r in range(1, reps + 1):
                st = self.wait_latest(run, (self.status(run) or {}).get("latest_completed", 0) + 2, 30)
                pre = self.rate_before(run, "drop", 1.0)
                restarts, ms = self.kill_restore(run, cfg, r, "worker-2", restarts, "drop", pre)
                log("recovery %-12s rep %d: %.1f ms (pre-kill %.2f M records/s)"
                    % (cfg, r, ms, (pre or 0) / 1e6))
            # Log lines: the coordinator's own account of each restore.
            clog = os.path.join(run, "logs", "coordinator.log")
            for i, (line, m) in enumerate(self.grep_log(
                    clog, r"restored from checkpoint (\d+), ([0-9.]+) ms after the failure"), 1):
                self.rec("recovery", cfg, i, "restore_ms_log", float(m.group(2)))
        except Exception as e:
            log("recovery %s: %s" % (cfg, e))
            self.rec("recovery", cfg, 0, "error", str(e)[:200])
        finally:
            self.down(run)
            shutil.rmtree(run, ignore_errors=True)

        keys = 200_000 if self.quick else 1_000_000
        reps = 1 if self.quick else 7
        self.note("recovery", "keys_large", keys)
        self.note("recovery", "repetitions_large", reps)
        cfg = "%d keys" % keys
        run = self.run_dir("rec-large")
        job = self.job(run, self.state_job(keys, "recovery-large"))
        try:
            # Tasks go round-robin over 2 workers: fill -> 1, trickle -> 2,
            # counter -> 1. Killing worker-1 loses the counter's state.
            self.cluster(run, "up", job, "2")
            wlog = os.path.join(run, "logs", "worker-1.log")
            self.wait_for("fill to end", lambda: self.grep_log(wlog, r"task fill\.0: end of input"),
                          timeout=120, poll=0.2)
            restarts = 0
            for r in range(1, reps + 1):
                st = self.wait_latest(run, (self.status(run) or {}).get("latest_completed", 0) + 1, 120)
                pre = self.rate_before(run, "counter", 1.0)
                restarts, ms = self.kill_restore(run, cfg, r, "worker-1", restarts, "counter", pre)
                read = self.restore_read(run, cfg, r)
                log("recovery %-12s rep %d: %.1f ms, %s" % (cfg, r, ms, read))
        except Exception as e:
            log("recovery %s: %s" % (cfg, e))
            self.rec("recovery", cfg, 0, "error", str(e)[:200])
        finally:
            self.down(run)
            shutil.rmtree(run, ignore_errors=True)

    def restore_read(self, run, cfg, rep):
        """The counter's restore as its worker logged it (the latest one),
        against LMDB's raw read of the same store by tests/bench/lmdb_scan."""
        wlog = os.path.join(run, "logs", "worker-1.log")
        rx = (r"task counter\.0: restored (\d+) entries \((\d+) bytes\) of checkpoint \d+ "
              r"in ([0-9.]+) ms: read ([0-9.]+) ms")
        lines = self.wait_for("the counter's restore log line", lambda: self.grep_log(wlog, rx), 30, 0.1)
        m = lines[-1][1]
        entries, nbytes, total_ms, read_ms = int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4))
        read_mb_s = nbytes / (read_ms / 1000.0) / 1e6 if read_ms > 0 else 0.0
        self.rec("recovery", cfg, rep, "entries_restored", entries)
        self.rec("recovery", cfg, rep, "restore_bytes", nbytes)
        self.rec("recovery", cfg, rep, "restore_task_ms", total_ms)
        self.rec("recovery", cfg, rep, "restore_read_ms", read_ms)
        self.rec("recovery", cfg, rep, "restore_read_mb_per_s", read_mb_s)
        # The raw walk in the conditions of the restore: a fresh process,
        # the file in the page cache, its mapping cold. Median of three.
        raws = []
        for _ in range(3):
            p = subprocess.run([os.path.join(self.tests, "lmdb_scan"), "--dir",
                                os.path.join(run, "state", "counter.0"), "--prefix", "s"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
            if p.returncode != 0:
                raise RuntimeError("lmdb_scan: " + p.stderr.strip())
            kv = dict(x.split("=") for x in p.stdout.split())
            raws.append(float(kv["mb_per_s"]))
        raw = sorted(raws)[1]
        # The same read with the restore's own code and nothing around it
        # (tests/bench/snapshot_read), in the raw walk's conditions.
        st = self.status(run) or {}
        rec, t = self.counter_stats(run, int(st.get("restored_from", 0)))
        alone = []
        if t is not None:
            h = t["handle"]
            for _ in range(3):
                p = subprocess.run([os.path.join(self.tests, "snapshot_read"), "--dir", h["location"],
                                    "--task", str(t["task"]), "--checkpoint", str(rec["id"]),
                                    "--checksum", str(h["checksum"])],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
                if p.returncode != 0:
                    raise RuntimeError("snapshot_read: " + p.stderr.strip())
                alone.append(float(dict(x.split("=") for x in p.stdout.split())["mb_per_s"]))
        if alone:
            a = sorted(alone)[1]
            self.rec("recovery", cfg, rep, "alone_read_mb_per_s", a)
            self.rec("recovery", cfg, rep, "alone_read_vs_raw", a / raw if raw else 0.0)
        self.rec("recovery", cfg, rep, "lmdb_raw_mb_per_s", raw)
        self.rec("recovery", cfg, rep, "lmdb_raw_entries", int(kv["entries"]))
        self.rec("recovery", cfg, rep, "read_vs_raw", read_mb_s / raw if raw else 0.0)
        return "%d entries read at %.0f MB/s (alone: %s MB/s), LMDB raw %.0f MB/s (%.0f%%)" % (
            entries, read_mb_s, "%.0f" % sorted(alone)[1] if alone else "-", raw,
            100.0 * read_mb_s / raw if raw else 0.0)

    # ---------------------------------------------- row 8: coordinator scale

    def scale_job(self, tasks):
        stages = tasks // 250
        lines = [f"; coordinator scale: {stages} gen stages x 250 subtasks = {tasks} tasks",
                 "[job]", f"name = scale-{tasks}",
                 "heartbeat_timeout_ms = 60000",
                 "[checkpoint]", "interval_ms = 500", "timeout_ms = 10000"]
        for s in range(stages):
            lines += [f"[stage g{s}]", "operator = gen", "parallelism = 250", "rate = 1"]
        return "\n".join(lines) + "\n"

    def wait_coordinator_up(self, clog):
        """Until the coordinator listens for every worker: fake workers
        dialling earlier would retry, and 2,500 of them retrying run out
        of file descriptors."""
        self.wait_for("the coordinator to listen",
                      lambda: self.grep_log(clog, r"coordinator \(pid \d+\) for job"), 60, 0.05)

    def scale_once(self, cfg, tasks, workers, want, timeout, batch=False):
        run = self.run_dir("sc-%d-%d%s" % (tasks, workers, "-b" if batch else ""))
        os.makedirs(run, exist_ok=True)
        job = self.job(run, self.scale_job(tasks))
        coord, coord_log = self.coordinator(run, job, workers)
        out = os.path.join(run, "fake.csv")
        try:
            self.wait_coordinator_up(os.path.join(run, "coordinator.log"))
            p = subprocess.run([os.path.join(self.tests, "fake_workers"),
                                "--coordinator", "ipc://%s/coordinator" % run,
                                "--workers", str(workers), "--checkpoints", str(want),
                                "--timeout", str(timeout), "--csv", out]
                               + (["--batch-acks"] if batch else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=timeout + 30)
        finally:
            self.stop(coord)
            coord_log.close()
        n = 0
        with open(out) as f:
            for row in csv.DictReader(f):
                cid = int(row["checkpoint"])
                if row.get("status", "completed") != "completed":
                    self.rec("scale", cfg, cid, "triggers_delivered", int(row["acks"]))
                    self.rec("scale", cfg, cid, "failed", 1)
                    continue
                n += 1
                self.rec("scale", cfg, cid, "last_ack_to_complete_us", int(row["last_ack_to_complete_us"]))
                self.rec("scale", cfg, cid, "trigger_spread_us", int(row["trigger_spread_us"]))
                self.rec("scale", cfg, cid, "first_trigger_to_complete_us",
                         int(row["first_trigger_to_complete_us"]))
        for line, m in self.grep_log(os.path.join(run, "coordinator.log"),
                                     r"checkpoint (\d+) completed in ([0-9.]+) ms"):
            self.rec("scale", cfg, int(m.group(1)), "trigger_to_committed_ms_log", float(m.group(2)))
        dep = self.grep_log(os.path.join(run, "coordinator.log"), r"epoch 1: deploying")
        ran = self.grep_log(os.path.join(run, "coordinator.log"), r"epoch 1: all \d+ tasks running")
        if dep and ran:
            self.rec("scale", cfg, 0, "deploy_to_running_ms",
                     1000 * (self.log_time(ran[0][0]) - self.log_time(dep[0][0])))
        shutil.rmtree(run, ignore_errors=True)
        return n, p.returncode, p.stderr.strip()

    def row_scale(self):
        want = 2 if self.quick else 10
        # (tasks, workers, acks batched per trigger): the first three keep
        # <= 4 tasks per worker, acked one message per task (the worst
        # case) or in one AckBatch per worker (a worker whose tasks ack
        # together); the last shows many tasks per worker.
        configs = [(1000, 1000, False), (10000, 2500, False), (10000, 2500, True), (1000, 10, False)]
        self.note("scale", "configs", configs)
        self.note("scale", "checkpoints_per_config", want)
        for tasks, workers, batch in configs:
            cfg = "%d tasks / %d workers%s" % (tasks, workers, ", batched acks" if batch else "")
            # Few workers: the checkpoints are expected to stall (see the
            # report); 5 s shows how many triggers got through.
            timeout = 5 if workers < 100 else 60 + want * 5
            try:
                n, rc, err = self.scale_once(cfg, tasks, workers, want if workers >= 100 else 2,
                                             timeout, batch)
                log("scale %-26s %d checkpoints completed%s" % (cfg, n, "" if rc == 0 else " (" + err.splitlines()[0] + ")" if err else ""))
            except Exception as e:
                log("scale %s: %s" % (cfg, e))
                self.rec("scale", cfg, 0, "error", str(e)[:200])

    # ------------------------------------------------------------ profile

    def row_profile(self):
        """perf's flat profile of the worker on the data plane and of the
        coordinator at 10,000 tasks, when perf can count here."""
        try:
            ok = subprocess.run(["perf", "stat", "-e", "instructions", "true"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        except FileNotFoundError:
            ok = False
        if not ok:
            self.note("profile", "skipped", "perf not usable here")
            log("profile: perf not usable here; skipped")
            return
        prof_dir = self.profile_dir
        secs = 1 if self.quick else 4
        # Worker on the data plane: a bounded job long enough to cover the
        # sampling window, checkpoints every 100 ms.
        run = self.run_dir("prof-dp")
        job = self.job(run, self.dataplane_job(100, 200_000_000))
        try:
            self.cluster(run, "up", job, "1")
            pid = open(os.path.join(run, "pids", "worker-1.pid")).read().strip()
            self.perf(pid, secs, os.path.join(prof_dir, "profile-worker.txt"))
        except Exception as e:
            log("profile worker: %s" % e)
        finally:
            self.down(run)
            shutil.rmtree(run, ignore_errors=True)
        # Coordinator with 10,000 fake tasks.
        run = self.run_dir("prof-sc")
        os.makedirs(run, exist_ok=True)
        job = self.job(run, self.scale_job(10000))
        coord, clog = self.coordinator(run, job, 2500)
        fake = None
        try:
            self.wait_coordinator_up(os.path.join(run, "coordinator.log"))
            fake = subprocess.Popen([os.path.join(self.tests, "fake_workers"),
                                     "--coordinator", "ipc://%s/coordinator" % run,
                                     "--workers", "2500", "--checkpoints", "1000",
                                     "--timeout", str(secs + 20), "--csv", os.devnull],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.children.append(fake)
            clog_path = os.path.join(run, "coordinator.log")
            self.wait_for("a first checkpoint at 10,000 tasks",
                          lambda: self.grep_log(clog_path, r"checkpoint \d+ completed"), 60, 0.2)
            self.perf(str(coord.pid), secs * 2, os.path.join(prof_dir, "profile-coordinator.txt"))
        except Exception as e:
            log("profile coordinator: %s" % e)
        finally:
            self.stop(fake)
            self.stop(coord)
            clog.close()
            shutil.rmtree(run, ignore_errors=True)

    def perf(self, pid, secs, out):
        data = os.path.join(self.base, "perf.data")
        subprocess.run(["perf", "record", "-F", "499", "-o", data, "-p", pid, "--", "sleep", str(secs)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=secs + 30)
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                              "--sort", "dso,symbol", "--percent-limit", "0.7"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=120)
        lines = [re.sub(r"(\s+-)+\s*$", "", ln) for ln in rep.stdout.splitlines()
                 if ln.strip() and not ln.startswith("#")]
        with open(out, "w") as f:
            f.write("\n".join(lines[:40]) + "\n")
        os.unlink(data)
        log("profile: %s (%d lines)" % (os.path.basename(out), len(lines[:40])))

    # ---------------------------------------------------------------- run

    def run(self, rows):
        t0 = time.monotonic()
        for name in rows:
            t = time.monotonic()
            getattr(self, "row_" + name)()
            self.meta["rows"].setdefault(name, {})["seconds"] = round(time.monotonic() - t, 1)
            log("%s: %.0f s" % (name, time.monotonic() - t))
        self.meta["seconds"] = round(time.monotonic() - t0, 1)
        with open(self.meta_path, "w") as f:
            json.dump(self.meta, f, indent=1)


ROWS = ["dataplane", "latency", "backpressure", "state", "recovery", "scale", "profile"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--profile-dir", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rows", default=",".join(ROWS))
    args = ap.parse_args()
    b = Bench(args)
    atexit.register(b.cleanup)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    b.run([r for r in args.rows.split(",") if r])


if __name__ == "__main__":
    main()
