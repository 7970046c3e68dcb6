/* pgprobe: PostgreSQL's own floor for Teamboard's event path, measured with libpq alone.
 *
 *   pgprobe notify CONNINFO N     N times: one connection runs NOTIFY (autocommit: the commit is
 *                                 part of it, as for a change), another LISTENs; the time from
 *                                 sending the NOTIFY to parsing the notification on the listener
 *   pgprobe event CONNINFO N      the same, but the NOTIFY shares its transaction with a single-row
 *                                 INSERT, as a change does (its commit waits for the WAL flush)
 *   pgprobe insert CONNINFO N     N single-row INSERTs, each its own transaction (autocommit),
 *                                 on a table of its own: the time of each commit round trip
 *   pgprobe fanout CONNINFO N L MS
 *                                 L connections LISTEN on one channel; another sends N NOTIFYs
 *                                 MS milliseconds apart, each with a payload of an event's size;
 *                                 per notification per listener the time from sending the NOTIFY
 *                                 to parsing it: PostgreSQL's own fan-out to L backends, the
 *                                 floor of the fan-out scenario (one process reads all L sockets)
 *   pgprobe bystanders CONNINFO N B
 *                                 B more connections LISTEN, each on a channel of its own (the
 *                                 streams of other boards), and never hear anything; then as
 *                                 notify: N round trips on pgprobe_channel. Adds the CPU time the
 *                                 B bystanders' backends spent meanwhile (/proc, so PostgreSQL on
 *                                 this machine), per notification: before PostgreSQL 19 a commit
 *                                 with a NOTIFY signals every listening backend of the database,
 *                                 whatever its channels, and each one reads the queue
 * Prints one JSON line: {"n":..,"p50_ms":..,"p90_ms":..,"p99_ms":..,"max_ms":..,"mean_ms":..}. */
#define _GNU_SOURCE
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static PGconn *connect_or_die(const char *ci)
{
	PGconn *c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pgprobe: %s", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

static void exec_or_die(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pgprobe: %s: %s", sql, PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
	int i = (int)(p * n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

/* Prints the JSON line of a probe; extra is "" or more members, each followed by a comma. */
static void report(const char *what, const char *extra, double *v, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	qsort(v, (size_t)n, sizeof *v, cmp);
	printf("{\"probe\":\"%s\",%s\"n\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"mean_ms\":%.3f}\n",
	       what, extra, n, pct(v, n, .5), pct(v, n, .9), pct(v, n, .99), pct(v, n, 1), sum / n);
}

static void make_table(PGconn *c)
{
	exec_or_die(c, "SET client_min_messages = warning");
	exec_or_die(c,
	            "CREATE TABLE IF NOT EXISTS pgprobe_insert (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	            " payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())");
}

/* n round trips: s sends a NOTIFY (with an INSERT in its transaction when with_insert), l hears it;
 * v[i] the time of each. 0, or 1 after a message on stderr. */
static int notify_rtts(PGconn *l, PGconn *s, double *v, int n, int with_insert)
{
	for (int i = 0; i < n; i++) {
		char sql[192];
		if (with_insert)
			snprintf(sql, sizeof sql,
			         "BEGIN; INSERT INTO pgprobe_insert (payload) VALUES ('a sticky note');"
			         " NOTIFY pgprobe_channel, '%d'; COMMIT",
			         i);
		else
			snprintf(sql, sizeof sql, "NOTIFY pgprobe_channel, '%d'", i);
		double t0 = now_ms();
		if (!PQsendQuery(s, sql)) {
			fprintf(stderr, "pgprobe: %s", PQerrorMessage(s));
			return 1;
		}
		int got = 0, done = 0;
		while (!got || !done) {
			struct pollfd p[2] = {{PQsocket(l), POLLIN, 0}, {PQsocket(s), POLLIN, 0}};
			if (poll(p, 2, 5000) <= 0) {
				fprintf(stderr, "pgprobe: no notification within 5 s\n");
				return 1;
			}
			if (p[0].revents) {
				PQconsumeInput(l);
				PGnotify *nt;
				while ((nt = PQnotifies(l)) != NULL) {
					if (atoi(nt->extra) == i && !got) {
						v[i] = now_ms() - t0;
						got = 1;
					}
					PQfreemem(nt);
				}
			}
			if (p[1].revents) {
				PQconsumeInput(s);
				while (!PQisBusy(s)) {
					PGresult *r = PQgetResult(s);
					if (!r) {
						done = 1;
						break;
					}
					PQclear(r);
				}
			}
		}
	}
	return 0;
}

static int probe_notify(const char *ci, int n, int with_insert)
{
	PGconn *l = connect_or_die(ci), *s = connect_or_die(ci);
	exec_or_die(l, "LISTEN pgprobe_channel");
	if (with_insert)
		make_table(s);
	double *v = calloc((size_t)n, sizeof *v);
	if (notify_rtts(l, s, v, n, with_insert))
		return 1;
	if (with_insert)
		exec_or_die(s, "DROP TABLE pgprobe_insert");
	report(with_insert ? "event_rtt" : "notify_rtt", "", v, n);
	PQfinish(l);
	PQfinish(s);
	return 0;
}

static int probe_insert(const char *ci, int n)
{
	PGconn *c = connect_or_die(ci);
	make_table(c);
	PGresult *r = PQprepare(c, "ins", "INSERT INTO pgprobe_insert (payload) VALUES ($1)", 1, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "pgprobe: %s", PQerrorMessage(c));
		return 1;
	}
	PQclear(r);
	double *v = calloc((size_t)n, sizeof *v);
	for (int i = 0; i < n; i++) {
		const char *params[] = {"a sticky note of about this length"};
		double t0 = now_ms();
		r = PQexecPrepared(c, "ins", 1, params, NULL, NULL, 0);
		v[i] = now_ms() - t0;
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "pgprobe: %s", PQerrorMessage(c));
			return 1;
		}
		PQclear(r);
	}
	exec_or_die(c, "DROP TABLE pgprobe_insert");
	report("insert_commit", "", v, n);
	PQfinish(c);
	return 0;
}

/* The fan-out floor: L listeners, N notifications MS apart (see the top of the file). */
static int probe_fanout(const char *ci, int n, int nl, double interval)
{
	PGconn **l = calloc((size_t)nl, sizeof *l);
	struct pollfd *p = calloc((size_t)nl, sizeof *p);
	double *v = calloc((size_t)n * (size_t)nl, sizeof *v), *sent = calloc((size_t)n, sizeof *sent);
	for (int i = 0; i < nl; i++) {
		l[i] = connect_or_die(ci);
		exec_or_die(l[i], "LISTEN pgprobe_fanout");
		p[i] = (struct pollfd){PQsocket(l[i]), POLLIN, 0};
	}
	PGconn *s = connect_or_die(ci);
	char pad[401];
	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	int got = 0, next = 0;
	double t_next = now_ms(), deadline = t_next + n * interval + 10000;
	while (got < n * nl && now_ms() < deadline) {
		double t = now_ms();
		if (next < n && t >= t_next) {
			char sql[512];
			snprintf(sql, sizeof sql, "NOTIFY pgprobe_fanout, '%d %s'", next, pad);
			sent[next] = now_ms();
			PGresult *r = PQexec(s, sql); /* the commit is part of it, as for a change */
			PQclear(r);
			next++;
			t_next += interval;
			continue;
		}
		int wait = next < n ? (int)(t_next - t) + 1 : 1000;
		if (poll(p, (nfds_t)nl, wait < 0 ? 0 : wait) < 0)
			break;
		for (int i = 0; i < nl; i++) {
			if (!p[i].revents)
				continue;
			PQconsumeInput(l[i]);
			PGnotify *nt;
			while ((nt = PQnotifies(l[i])) != NULL) {
				int k = atoi(nt->extra);
				if (k >= 0 && k < next && got < n * nl) {
					v[got++] = now_ms() - sent[k];
				}
				PQfreemem(nt);
			}
		}
	}
	int lost = n * nl - got;
	for (int i = 0; i < nl; i++)
		PQfinish(l[i]);
	PQfinish(s);
	if (got == 0) {
		fprintf(stderr, "pgprobe: no notification arrived\n");
		return 1;
	}
	char extra[128];
	snprintf(extra, sizeof extra, "\"listeners\":%d,\"notifies\":%d,\"interval_ms\":%.1f,\"lost\":%d,", nl, n,
	         interval, lost);
	report("fanout", extra, v, got);
	free(l);
	free(p);
	free(v);
	free(sent);
	return lost ? 1 : 0;
}

/* CPU time (utime + stime, ms) of these processes, from /proc/PID/stat; -1 when one is unreadable. */
static double cpu_ms(const int *pids, int n)
{
	double ticks = 0;
	for (int i = 0; i < n; i++) {
		char path[64], buf[1024];
		snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			return -1;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = '\0';
		const char *p = strrchr(buf, ')'); /* the command may hold spaces: fields count from here */
		unsigned long ut = 0, st = 0;
		if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
			return -1;
		ticks += (double)(ut + st);
	}
	return ticks * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* N notify round trips while B other backends listen on channels of their own (see the top). */
static int probe_bystanders(const char *ci, int n, int nb)
{
	PGconn **b = calloc((size_t)nb, sizeof *b);
	int *pids = calloc((size_t)nb, sizeof *pids);
	for (int i = 0; i < nb; i++) {
		char sql[64];
		b[i] = connect_or_die(ci);
		snprintf(sql, sizeof sql, "LISTEN pgprobe_other_%d", i);
		exec_or_die(b[i], sql);
		pids[i] = PQbackendPID(b[i]);
	}
	PGconn *l = connect_or_die(ci), *s = connect_or_die(ci);
	exec_or_die(l, "LISTEN pgprobe_channel");
	double *v = calloc((size_t)n, sizeof *v);
	double c0 = cpu_ms(pids, nb), t0 = now_ms();
	int rc = notify_rtts(l, s, v, n, 0);
	double c1 = cpu_ms(pids, nb), wall = now_ms() - t0;
	if (rc == 0) {
		char extra[160];
		snprintf(extra, sizeof extra,
		         "\"bystanders\":%d,\"bystander_cpu_ms_per_notify\":%.3f,\"wall_ms\":%.0f,", nb,
		         c0 < 0 || c1 < 0 ? -1.0 : (c1 - c0) / n, wall);
		report("bystanders", extra, v, n);
	}
	for (int i = 0; i < nb; i++)
		PQfinish(b[i]);
	PQfinish(l);
	PQfinish(s);
	free(b);
	free(pids);
	free(v);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "bystanders") == 0) {
		int n = atoi(argv[3]), nb = atoi(argv[4]);
		if (n < 1 || n > 100000 || nb < 0 || nb > 10000)
			return 2;
		return probe_bystanders(argv[2], n, nb);
	}
	if (argc == 6 && strcmp(argv[1], "fanout") == 0) {
		int n = atoi(argv[3]), nl = atoi(argv[4]);
		double ms = atof(argv[5]);
		if (n < 1 || n > 100000 || nl < 1 || nl > 10000 || ms < 0 || ms > 10000)
			return 2;
		return probe_fanout(argv[2], n, nl, ms);
	}
	if (argc != 4) {
		fprintf(stderr,
		        "usage: pgprobe notify|event|insert CONNINFO N | fanout CONNINFO N LISTENERS INTERVAL_MS\n"
		        "       pgprobe bystanders CONNINFO N BYSTANDERS\n");
		return 2;
	}
	int n = atoi(argv[3]);
	if (n < 1 || n > 1000000)
		return 2;
	if (strcmp(argv[1], "notify") == 0 || strcmp(argv[1], "event") == 0)
		return probe_notify(argv[2], n, strcmp(argv[1], "event") == 0);
	if (strcmp(argv[1], "insert") == 0)
		return probe_insert(argv[2], n);
	fprintf(stderr, "usage: pgprobe notify|event|insert CONNINFO N\n");
	return 2;
}
