/* SPDX-License-Identifier: PostgreSQL */
/*
 * replicas_int.h — the private interface between the files of the
 * "replicas" plugin: the parsed spec, the observed model of the primary
 * (pg_stat_replication, pg_replication_slots, the replication settings)
 * and of each member, the provider interface that provisions standbys,
 * and the callbacks replicas.c puts in the descriptor.
 *
 * Everything here has the repl_ prefix and hidden visibility; the unit
 * tests link these files directly. Only observe.c, apply.c and the
 * providers use libpq (through the host's connections, and PQping).
 */
#ifndef DBOPS_REPL_INT_H
#define DBOPS_REPL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbops/host.h"
#include "dbops/plugin.h"
#include "dbops/spec.h"
#include "../patroni.h"
#include "../value.h"

#define REPL_NAME_MAX 63 /* NAMEDATALEN - 1: slot and application names */

enum repl_sync_mode {
	REPL_SYNC_OFF = 0,
	REPL_SYNC_ANY,
	REPL_SYNC_FIRST,
};

struct repl_provider;

/* One entry of `members:`. */
struct repl_member_spec {
	const char *name; /* also its slot name and application_name */
	const char *host;
	int port;
	const char *data_dir; /* local provider; NULL otherwise */
	bool sync;	      /* may be named in synchronous_standby_names */
	bool absent;	      /* state: absent — remove it */
	bool nofailover;      /* patroni: the tags the member should have */
	bool noloadbalance;
	struct dbops_loc loc;
};

/* The `patroni:` section (provider patroni). */
struct repl_patroni_spec {
	struct patroni_endpoint ep;
	struct dbops_secret_ref password;
	bool has_password;
	bool restart_rolling; /* restart: rolling — dbops may restart members */
	struct dbops_loc loc;
};

/* One replication setting of the primary (`settings:`). */
struct repl_setting_spec {
	const char *name;
	const char *value;
	struct dbops_loc loc;
};

/* The `replicas:` section, parsed. */
struct repl_spec {
	const struct repl_provider *provider;
	enum repl_sync_mode sync_mode;
	int sync_count;
	struct dbops_loc sync_loc;
	bool slots;
	int64_t max_lag_bytes; /* -1: no limit */
	int64_t max_lag_ms;    /* -1: no limit */
	struct repl_setting_spec *settings;
	size_t nsettings;
	struct repl_member_spec *members;
	size_t nmembers;
	bool delete_data;
	const char *os_user; /* NULL: run commands as ourselves */
	const char *bindir;  /* NULL: found from the server version */
	int wait_seconds;    /* bound on waiting for a standby to stream */
	bool sync_strict;    /* patroni: synchronous_mode_strict */
	bool slots_set;	     /* `slots` was written */
	struct repl_patroni_spec patroni; /* provider patroni */
	struct dbops_loc loc;
};

/* A walsender row of pg_stat_replication (physical standbys only). */
struct repl_sender {
	const char *app_name;
	const char *state;	/* streaming, catchup, ... */
	const char *sync_state; /* async, potential, sync, quorum */
	const char *replay_lsn;
	int64_t lag_bytes; /* current LSN - replay_lsn; -1 unknown */
	double lag_ms;	   /* replay_lag; 0 when NULL (idle) */
};

/* A row of pg_replication_slots. */
struct repl_slot {
	const char *name;
	const char *type; /* physical, logical */
	bool active;
	const char *wal_status; /* reserved, extended, unreserved, lost */
	int64_t retained_bytes; /* current LSN - restart_lsn; -1 unknown */
};

/* A replication setting as the primary has it. */
struct repl_setting_live {
	const char *name;
	const char *setting;	/* running value, base unit */
	const char *unit;	/* "MB", "ms" or NULL */
	const char *context;	/* postmaster, sighup, ... */
	const char *configured; /* the winning config file line, or NULL */
	bool pending_restart;
};

/* What a member looks like, parallel to repl_spec.members. */
struct repl_member_live {
	bool reachable;	      /* accepts connections at host:port */
	bool in_recovery;     /* a standby, when reachable */
	bool data_exists;     /* local: PG_VERSION in data_dir */
	bool data_standby;    /* local: standby.signal in data_dir */
	bool running;	      /* local: a postmaster.pid in data_dir */
	bool port_busy;	      /* local, no data yet: the port is taken */
	const char *receiver; /* pg_stat_wal_receiver.status, or NULL */
	const char *replay_lsn;
};

struct repl_live {
	bool in_recovery; /* the target is a standby itself */
	const char *current_lsn;
	const char *sync_names; /* synchronous_standby_names as configured */
	const char *data_directory; /* the primary's, or NULL (no right) */
	int port;
	struct repl_sender *senders;
	size_t nsenders;
	struct repl_slot *slots;
	size_t nslots;
	struct repl_setting_live *settings;
	size_t nsettings;
	struct repl_member_live *members; /* parallel to the spec's */
	size_t nmembers;
	/* provider patroni: GET /cluster and GET /config */
	struct patroni_cluster *ptn_cluster;
	struct patroni_config *ptn_config;
};

/*
 * A provider: how standbys come to exist. "local" provisions them with
 * pg_basebackup and pg_ctl on this machine; "external" leaves that to
 * someone else (only slots, synchronous settings and health are dbops'
 * then). A Patroni provider would observe through GET /cluster, own
 * synchronous_standby_names (write_sync NULL means through ALTER SYSTEM)
 * and switch over with POST /switchover. A NULL operation is one the
 * provider does not offer.
 */
struct repl_provider {
	const char *name;
	bool provisions; /* plans member creation and removal */
	int (*observe_member)(struct repl_member_live *out,
			      struct dbops_ctx *ctx,
			      const struct repl_spec *spec,
			      const struct repl_member_spec *m);
	int (*create_member)(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct repl_member_spec *m);
	int (*remove_member)(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct repl_member_spec *m);
	int (*switchover_step)(struct dbops_ctx *ctx,
			       const struct repl_spec *spec,
			       const struct dbops_change *change);
	/* A provider that owns replication itself (Patroni) takes whole
	 * stages over from the plugin; NULL: the plugin's own. */
	int (*observe)(struct repl_live *live, struct dbops_ctx *ctx,
		       const struct repl_spec *spec);
	int (*diff)(struct dbops_ctx *ctx, const struct repl_spec *spec,
		    const struct repl_live *live, const char *mode,
		    const char *to);
	int (*status)(struct dbops_ctx *ctx, const struct repl_spec *spec,
		      const struct repl_live *live);
	int (*apply)(struct dbops_ctx *ctx, const struct dbops_change *change);
};

extern const struct repl_provider repl_provider_local;
extern const struct repl_provider repl_provider_external;
extern const struct repl_provider repl_provider_patroni;

/* What a change asks apply to do. */
enum repl_op {
	REPL_OP_SETTING = 1,
	REPL_OP_SLOT_CREATE,
	REPL_OP_MEMBER_CREATE,
	REPL_OP_SYNC,
	REPL_OP_MEMBER_REMOVE,
	REPL_OP_SWITCHOVER,
	REPL_OP_PATRONI,	    /* PATCH /config: one key */
	REPL_OP_PATRONI_SWITCHOVER, /* a step of a Patroni switchover */
	REPL_OP_DRILL,		    /* a step of the failover drill */
};

/* The keys of Patroni's dynamic configuration the replicas section
 * manages (REPL_OP_PATRONI). */
enum repl_ptn_key {
	REPL_PTN_PARAM = 1, /* postgresql.parameters.<name> */
	REPL_PTN_USE_SLOTS,
	REPL_PTN_MAX_LAG,
	REPL_PTN_SYNC_MODE,
	REPL_PTN_SYNC_COUNT,
	REPL_PTN_SYNC_STRICT,
};

/* Switchover steps, in order. */
enum repl_sw_step {
	REPL_SW_CHECK = 1,
	REPL_SW_STOP,
	REPL_SW_PROMOTE,
	REPL_SW_REJOIN,
};

/* Shared by the steps of one switchover (one pass). */
struct repl_sw_state {
	const struct repl_member_spec *to;
	const char *old_data_dir;
	int old_port;
	const char *old_host;
	const char *final_lsn; /* the old primary's last checkpoint */
	double stopped_at;     /* CLOCK_MONOTONIC seconds */
	double promoted_at;
	bool stopped;
	bool promoted;
};

struct repl_payload {
	enum repl_op op;
	const struct repl_spec *spec;
	const struct repl_member_spec *member; /* member ops */
	const char *name;		       /* setting or slot name */
	const char *value;		       /* setting or sync names */
	int min_streaming;		       /* REPL_OP_SYNC */
	const char *const *sync_members;       /* REPL_OP_SYNC: named */
	size_t nsync_members;
	enum repl_sw_step step;
	struct repl_sw_state *sw;
	/* REPL_OP_PATRONI */
	enum repl_ptn_key key;
	bool bvalue;
	int64_t ivalue;
	/* REPL_OP_PATRONI_SWITCHOVER, REPL_OP_DRILL */
	int pstep;
	struct repl_ptn_state *ps;
	void *drill; /* REPL_OP_DRILL: drill.c's state */
};

/* Shared by the steps of a Patroni switchover or drill (one pass). */
struct repl_ptn_state {
	const char *leader;    /* the leader when planned */
	const char *candidate; /* switchover: the member to promote */
	const char *at;	       /* switchover: scheduled_at, or NULL */
	const char *new_leader;
	double outage;	    /* seconds without a writable primary */
	int64_t lost_bytes; /* switchover: WAL the new leader lacks */
	bool done;
};

/* ---- validate.c */

/* Parse the section. With `report`, every problem becomes an error
 * diagnostic; the result is valid only when 0 is returned. */
int repl_spec_parse(struct repl_spec **out, struct dbops_ctx *ctx,
		    const struct dbops_node *section);
/* A member name usable as a slot and application name. */
bool repl_name_valid(const char *name);
/* "16MB" → bytes; "10s" → ms. -1 when it does not parse. */
int64_t repl_parse_bytes(const char *text);
int64_t repl_parse_ms(const char *text);
int repl_validate(struct dbops_ctx *ctx, const struct dbops_node *section);

/* ---- sync.c */

/* The synchronous_standby_names the spec asks for, canonical ("" when
 * off or when no member may be synchronous). */
const char *repl_sync_names(struct dbops_ctx *ctx, const struct repl_spec *s);
/* A synchronous_standby_names value in canonical form ("ANY 1 (a, b)"),
 * for comparison; NULL when it does not parse. */
const char *repl_sync_canonical(struct dbops_ctx *ctx, const char *value);
/* Whether setting `value` of a named setting equals `desired`. */
bool repl_setting_equal(const struct repl_setting_live *s, const char *value,
			const char *desired);
/* The replication settings the spec may set. */
bool repl_setting_allowed(const char *name);

/* ---- observe.c */

const struct repl_sender *repl_live_sender(const struct repl_live *live,
					   const char *app_name);
const struct repl_slot *repl_live_slot(const struct repl_live *live,
				       const char *name);
const struct repl_setting_live *repl_live_setting(const struct repl_live *live,
						  const char *name);
bool repl_sender_streaming(const struct repl_sender *s);
int repl_observe(void **live_out, struct dbops_ctx *ctx,
		 const struct dbops_node *section);

/* ---- diff.c */

int repl_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	      void *live);
/* The diff over a parsed spec (unit tests call it directly). */
int repl_diff_spec(struct dbops_ctx *ctx, const struct repl_spec *spec,
		   const struct repl_live *live, const char *mode,
		   const char *to);

/* ---- status.c */

int repl_status(struct dbops_ctx *ctx, const struct dbops_node *section,
		void *live);
int repl_status_spec(struct dbops_ctx *ctx, const struct repl_spec *spec,
		     const struct repl_live *live);

/* ---- apply.c */

int repl_apply(struct dbops_ctx *ctx, const struct dbops_change *change);
/* Poll pg_stat_replication until `n` of `names` stream (bounded). */
int repl_wait_streaming(struct dbops_ctx *ctx, const char *const *names,
			size_t nnames, int n, int seconds, bool report);

/* ---- hostx.c: ABI 1.1 host functions, checked against the table size */

const char *repl_host_mode(struct dbops_ctx *ctx);
const char *repl_host_arg(struct dbops_ctx *ctx, const char *name);
void repl_host_out(struct dbops_ctx *ctx, const char *line);
int repl_host_conn_open(struct dbops_conn **out, struct dbops_ctx *ctx,
			const char *conninfo, unsigned flags);
/* A fact for the live-state fingerprint (ignored by older hosts). */
void repl_host_note(struct dbops_ctx *ctx, const char *key, const char *value);
/* The main connection's parameter (host, port, user), or NULL. */
const char *repl_conn_param(struct dbops_ctx *ctx, const char *keyword);
/* Whether something accepts PostgreSQL connections at host:port. */
bool repl_ping(const char *host, int port);
/* Whether anything accepts TCP connections at host:port. */
bool repl_port_busy(const char *host, int port);
/* A member's connection (SAME_CLUSTER overlay), or NULL without a
 * diagnostic when it cannot be reached. */
struct dbops_conn *repl_member_conn(struct dbops_ctx *ctx, const char *host,
				    int port, bool volatile_rows);
double repl_now(void);
/* Sleep ms milliseconds (polling loops). */
void repl_sleep_ms(long ms);
/* After the primary changed under it (a switchover, a drill): when the
 * main connection is gone or reaches a standby, connect it again
 * (PQreset) — with a conninfo naming every member and
 * target_session_attrs=read-write it reaches the new primary, and the run
 * log is written there. The session's advisory lock went with the old
 * connection. */
void repl_host_reconnect(struct dbops_ctx *ctx);

/* ---- run.c: external programs */

/* Run argv (argv[0] a program in the server's bindir or on PATH) as the
 * spec's OS user; *output_out gets what it printed (last 4 kB). Returns
 * the exit status, or -1 when it could not run (with a diagnostic). */
int repl_run(const char **output_out, struct dbops_ctx *ctx,
	     const struct repl_spec *spec, const char *const *argv,
	     const char *password);
/* The full path of a PostgreSQL program. */
const char *repl_program(struct dbops_ctx *ctx, const struct repl_spec *spec,
			 const char *name);

/* ---- provider_local.c, for switchover.c */

/* pg_ctl start of a data directory (log beside it, DIR.log). */
int repl_local_start(struct dbops_ctx *ctx, const struct repl_spec *spec,
		     const char *data_dir);
/* repl_run, a failure turned into an error diagnostic with the output. */
int repl_local_run(struct dbops_ctx *ctx, const struct repl_spec *spec,
		   const char *const *argv);

/* ---- provider_patroni.c */

/* The change address of a Patroni key ("replicas.patroni.synchronous_mode"). */
const char *repl_ptn_address(struct dbops_ctx *ctx, enum repl_ptn_key key,
			     const char *param);
/* A libpq conninfo naming every member of the spec (else of Patroni's
 * /cluster) with target_session_attrs=read-write and the main
 * connection's user and database; its password comes apart, in
 * *password_out (NULL when none). */
const char *repl_ptn_conninfo(const char **password_out, struct dbops_ctx *ctx,
			      const struct repl_spec *spec,
			      const struct patroni_cluster *c);
/* Poll Patroni's /cluster every 200 ms, up to wait_timeout, until member
 * `name` runs as a replica (not leading, running, its lag known): 0 and
 * the member in *out, or DBOPS_ERR_TRANSIENT with an error calling it
 * `who` ("the old leader"). */
int repl_ptn_wait_replica(const struct patroni_member **out,
			  struct dbops_ctx *ctx, const struct repl_spec *spec,
			  const char *name, const char *who);

/* ---- probe.c: a writer in a thread of its own (libpq, not the host) */

struct repl_writer;

/* What the writer saw (times are repl_now() seconds, 0: never). */
struct repl_writer_record {
	double last_old_ok;    /* last write the first primary took */
	uint64_t last_old_lsn; /* WAL position after it, in bytes */
	double first_fail;     /* first write that failed */
	double first_new_ok;   /* first write another server took */
	double first_ok_after; /* first write after repl_writer_mark, on a
				   connection made after it */
	double mark;
	char new_server[300]; /* host:port of that write */
	long writes;
	size_t nacked;
};

/*
 * Start writing through `conninfo` (password apart, may be NULL):
 * `SELECT txid_current()` every 10 ms (a probe: it commits, so it waits
 * for synchronous standbys like any write), or with drill_id > 0 INSERTs
 * of numbered rows into dbops.failover_drill_writes as fast as they are
 * acknowledged. old_host:old_port is the primary now. NULL when the
 * thread cannot start.
 */
struct repl_writer *repl_writer_start(const char *conninfo,
				      const char *password,
				      const char *old_host, int old_port,
				      long long drill_id);
/* Note the moment (a kill): first_ok_after counts from it. */
void repl_writer_mark(struct repl_writer *w);
void repl_writer_read(struct repl_writer_record *out, struct repl_writer *w);
/* Stop and join the thread; the record stays readable. */
void repl_writer_stop(struct repl_writer *w);
/* The acknowledged ids (valid until repl_writer_free). */
const long long *repl_writer_acked(const struct repl_writer *w, size_t *n);
void repl_writer_free(struct repl_writer *w);

/* ---- patroni_switchover.c */

int repl_ptn_switchover_plan(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct repl_live *live, const char *to);
int repl_ptn_switchover_step(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct dbops_change *change);

/* ---- drill.c */

int repl_drill_plan(struct dbops_ctx *ctx, const struct repl_spec *spec,
		    const struct repl_live *live);
int repl_drill_step(struct dbops_ctx *ctx, const struct repl_spec *spec,
		    const struct dbops_change *change);

/* ---- switchover.c */

int repl_switchover_step(struct dbops_ctx *ctx, const struct repl_spec *spec,
			 const struct dbops_change *change);

#endif
