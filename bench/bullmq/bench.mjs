// The BullMQ side of the reminder benchmark: the same workloads as
// bench/crmd_bench.py, as delayed jobs in BullMQ on the Redis that
// bench/run started.  One phase per invocation; the phase's figures are
// printed as one JSON object on stdout, progress goes to stderr.
//
//   node bench.mjs latency SOCK N PER_SECOND
//   node bench.mjs burst   SOCK N
//   node bench.mjs load    SOCK N REDIS_PID
//   node bench.mjs idle    SOCK SECONDS REDIS_PID
//
// Lateness is what a user of BullMQ sees: the instant the processor
// function is called minus the instant the job was due
// (job.timestamp + job.opts.delay), in ms.  BullMQ is given its best
// case: a Unix socket, removeOnComplete, and concurrency CONCURRENCY.
import { Queue, Worker } from "bullmq";
import { readFileSync } from "node:fs";

const CONCURRENCY = Number(process.env.BENCH_BULL_CONCURRENCY || 100);
const ADD_BATCH = 1000;
const DAY_MS = 86400 * 1000;

const [phase, sock, arg1, arg2] = process.argv.slice(2);
const connection = { path: sock, maxRetriesPerRequest: null };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (...a) => console.error("  bullmq:", ...a);

function pct(sorted, p) {
	// The same definition as crmd's: element floor((n - 1) * p).
	if (sorted.length === 0)
		return null;
	return sorted[Math.floor((sorted.length - 1) * p)];
}

function summary(lat) {
	const s = Float64Array.from(lat).sort();
	return { count: s.length, p50: pct(s, 0.5), p99: pct(s, 0.99),
	    max: s.length ? s[s.length - 1] : null };
}

function procStatus(pid) {
	const out = {};
	for (const line of readFileSync(`/proc/${pid}/status`, "utf8")
	    .split("\n")) {
		const m = /^(VmRSS|VmHWM|voluntary_ctxt_switches):\s+(\d+)/
		    .exec(line);
		if (m)
			out[m[1]] = Number(m[2]);
	}
	return out;
}

function cpuTicks(pid) {
	// utime + stime, fields 14 and 15; the name may contain spaces.
	const st = readFileSync(`/proc/${pid}/stat`, "utf8");
	const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
	return Number(f[11]) + Number(f[12]);
}

// Adds jobs in batches of ADD_BATCH; due(i) gives job i's due instant in
// ms.  timestamp is set explicitly so that timestamp + delay is exactly
// the due instant.
async function addDelayed(queue, n, due) {
	for (let i = 0; i < n; i += ADD_BATCH) {
		const jobs = [];
		const now = Date.now();
		for (let j = i; j < Math.min(n, i + ADD_BATCH); j++)
			jobs.push({ name: "remind", data: { reminder: j },
			    opts: { delay: Math.max(0, due(j) - now),
			    timestamp: now, removeOnComplete: true } });
		await queue.addBulk(jobs);
	}
}

// Runs a worker until n jobs were processed or deadline (ms) passed;
// returns the lateness of each job and the instant of the last one.
function collect(queue, n, deadline, addJobs) {
	return new Promise((resolve, reject) => {
		const lat = [];
		let last = 0;
		let timer = null;
		const worker = new Worker(queue.name, async (job) => {
			const now = Date.now();
			lat.push(now - (job.timestamp + job.opts.delay));
			last = now;
			if (lat.length === n)
				finish();
		}, { connection, concurrency: CONCURRENCY, autorun: true });
		const finish = async () => {
			clearTimeout(timer);
			await worker.close();
			resolve({ lat, last });
		};
		worker.on("error", (e) => say("worker error:", e.message));
		worker.waitUntilReady().then(addJobs).then(() => {
			timer = setTimeout(() => {
				say(`deadline: ${lat.length}/${n} processed`);
				finish();
			}, Math.max(0, deadline - Date.now()));
		}).catch(reject);
	});
}

async function latency(n, perSecond) {
	const queue = new Queue("latency", { connection });
	await queue.obliterate({ force: true });
	const seconds = Math.ceil(n / perSecond);
	// Whole seconds, like crmd's due_at, with room to add them all.
	const t0 = (Math.floor(Date.now() / 1000) + 2 +
	    Math.ceil(n / 20000)) * 1000;
	say(`latency: ${n} jobs, ${perSecond} due at each of ${seconds} s`);
	const { lat } = await collect(queue, n, t0 + seconds * 1000 + 30000,
	    () => addDelayed(queue, n, (i) => t0 +
	    Math.floor(i / perSecond) * 1000));
	await queue.close();
	return { phase: "latency", jobs: n, per_second: perSecond,
	    concurrency: CONCURRENCY, lateness_ms: summary(lat) };
}

async function burst(n) {
	const queue = new Queue("burst", { connection });
	await queue.obliterate({ force: true });
	// All due at one whole second, far enough ahead to add them all.
	const due = (Math.floor(Date.now() / 1000) + 3 +
	    Math.ceil(n / 10000)) * 1000;
	let added = 0;
	say(`burst: ${n} jobs due at one instant`);
	const { lat, last } = await collect(queue, n, due + 300000,
	    async () => {
		await addDelayed(queue, n, () => due);
		added = Date.now();
	});
	await queue.close();
	const ok = added < due && lat.length === n;
	return { phase: "burst", jobs: n, processed: lat.length,
	    concurrency: CONCURRENCY, added_before_due: added < due,
	    seconds: (last - due) / 1000,
	    jobs_per_s: ok ? n / ((last - due) / 1000) : null,
	    lateness_ms: summary(lat) };
}

async function load(n, redisPid) {
	const queue = new Queue("pending", { connection });
	await queue.obliterate({ force: true });
	const start = Date.now();
	say(`load: ${n} delayed jobs over the next 30 days`);
	// Spread from 1 to 31 days ahead: nothing falls due during the run.
	await addDelayed(queue, n, (i) => start + DAY_MS +
	    Math.floor(i * (30 * DAY_MS / n)));
	const secs = (Date.now() - start) / 1000;
	const counts = await queue.getJobCounts("delayed");
	await queue.close();
	return { phase: "load", jobs: n, delayed: counts.delayed,
	    load_s: secs, adds_per_s: n / secs, redis: procStatus(redisPid) };
}

async function idle(seconds, redisPid) {
	// A worker waiting on the queue that holds the pending jobs: what a
	// deployment runs all day.
	const worker = new Worker("pending", async () => {},
	    { connection, concurrency: CONCURRENCY });
	await worker.waitUntilReady();
	await sleep(2000);		/* settle */
	const hz = 100;			/* USER_HZ on Linux */
	const before = { r: cpuTicks(redisPid), n: cpuTicks(process.pid),
	    rs: procStatus(redisPid), ns: procStatus(process.pid) };
	const t = Date.now();
	await sleep(seconds * 1000);
	const wall = (Date.now() - t) / 1000;
	const after = { r: cpuTicks(redisPid), n: cpuTicks(process.pid),
	    rs: procStatus(redisPid), ns: procStatus(process.pid) };
	await worker.close();
	const pctOf = (ticks) => 100 * ticks / hz / wall;
	return { phase: "idle", seconds: wall,
	    redis_cpu_pct: pctOf(after.r - before.r),
	    worker_cpu_pct: pctOf(after.n - before.n),
	    redis_wakeups: after.rs.voluntary_ctxt_switches -
	    before.rs.voluntary_ctxt_switches,
	    worker_wakeups: after.ns.voluntary_ctxt_switches -
	    before.ns.voluntary_ctxt_switches,
	    redis: after.rs, worker: after.ns };
}

const phases = {
	latency: () => latency(Number(arg1), Number(arg2)),
	burst: () => burst(Number(arg1)),
	load: () => load(Number(arg1), Number(arg2)),
	idle: () => idle(Number(arg1), Number(arg2)),
};
if (!phases[phase]) {
	console.error("usage: bench.mjs latency|burst|load|idle SOCK ...");
	process.exit(2);
}
const result = await phases[phase]();
console.log(JSON.stringify(result));
process.exit(0);
