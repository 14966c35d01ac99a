/* SPDX-License-Identifier: PostgreSQL */
/*
 * patroni.h — a client of Patroni's REST API (3.0.2), shared by the
 * plugins of this tree that drive a Patroni cluster: the replicas plugin
 * (its patroni provider) and the parameters plugin (which routes its
 * changes through Patroni's dynamic configuration when the cluster is
 * under Patroni). Compiled into each of them (Makefile:
 * PLUGIN_EXTRA_SRCS_<name>); it is not part of the plugin SDK.
 *
 * HTTP goes through libcurl (http and https only, timeouts always set,
 * TLS verified, with an optional CA file), JSON through json-c. Answers
 * are parsed at once into the structures below, in the pass arena, and
 * every field read is checked: a missing or mistyped field is an error
 * naming the endpoint and the field. Absent keys of the dynamic
 * configuration are not errors: they take Patroni's documented defaults,
 * and `set` says which keys were present. Credentials (HTTP basic auth)
 * are sent only with the unsafe methods (PATCH, POST), read from their
 * secret reference at that moment, and never appear in a message.
 *
 * Errors are diagnostics raised through the host; functions return 0 or
 * a negative enum dbops_err: DBOPS_ERR_TRANSIENT when no endpoint
 * answered or Patroni said 503, DBOPS_ERR_INVALID for 401/403 (a
 * configuration problem), DBOPS_ERR_CONFLICT for 409 and 412,
 * DBOPS_ERR_GENERIC for anything else unexpected.
 */
#ifndef DBOPS_PLUGINS_PATRONI_H
#define DBOPS_PLUGINS_PATRONI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbops/host.h"

#define PATRONI_URL_MAX	 512
#define PATRONI_BODY_MAX (4 * 1024 * 1024)

/* Where Patroni's REST API is and how to talk to it. */
struct patroni_endpoint {
	const char *const *urls; /* "http://127.0.0.1:8008", tried in order */
	size_t nurls;
	const char *username;			 /* NULL: no basic auth */
	const struct dbops_secret_ref *password; /* NULL: none */
	const char *cafile;			 /* NULL: the system's CAs */
	long timeout_ms;			 /* per request */
};

/* One member of GET /cluster. */
struct patroni_member {
	const char *name;
	const char *role;    /* leader, standby_leader, sync_standby, replica */
	const char *state;   /* running, streaming, stopped, starting, ... */
	const char *api_url; /* "http://host:port/patroni", or NULL */
	const char *host;    /* NULL when Patroni does not know it */
	int port;	     /* 0 when absent */
	int64_t timeline;    /* -1 when absent */
	int64_t lag;	     /* bytes behind the leader; -1 unknown/leader */
	bool pending_restart;
	const char *scheduled_restart; /* its schedule, or NULL */
	bool nofailover, noloadbalance, nosync, clonefrom; /* tags */
};

/* GET /cluster. */
struct patroni_cluster {
	struct patroni_member *members;
	size_t nmembers;
	bool pause;
	const char *switchover_at; /* a scheduled switchover, or NULL */
	const char *switchover_from;
	const char *switchover_to;
	const char *url; /* the endpoint that answered */
};

/* One entry of postgresql.parameters, its value as text ("on" for true). */
struct patroni_param {
	const char *name;
	const char *value;
};

/* Which keys GET /config held (the others have their defaults). */
#define PATRONI_SET_SYNC_MODE	(1u << 0)
#define PATRONI_SET_SYNC_STRICT (1u << 1)
#define PATRONI_SET_SYNC_COUNT	(1u << 2)
#define PATRONI_SET_MAX_LAG	(1u << 3)
#define PATRONI_SET_USE_SLOTS	(1u << 4)
#define PATRONI_SET_TTL		(1u << 5)
#define PATRONI_SET_LOOP_WAIT	(1u << 6)
#define PATRONI_SET_START_TO	(1u << 7)
#define PATRONI_SET_PAUSE	(1u << 8)

/* GET /config: the dynamic configuration, defaults of 3.0.2 filled in. */
struct patroni_config {
	unsigned set;
	bool synchronous_mode;		 /* false */
	bool synchronous_mode_strict;	 /* false */
	int64_t synchronous_node_count;	 /* 1 */
	int64_t maximum_lag_on_failover; /* 1048576 */
	bool use_slots;			 /* postgresql.use_slots, true */
	int64_t ttl;			 /* 30 */
	int64_t loop_wait;		 /* 10 */
	int64_t retry_timeout;		 /* 10 */
	int64_t primary_start_timeout;	 /* 300 */
	bool pause;			 /* false */
	struct patroni_param *params;	 /* postgresql.parameters */
	size_t nparams;
	const char *url; /* the endpoint that answered */
};

/* The last timeline switch of GET /history. */
struct patroni_switch {
	int64_t timeline;
	uint64_t lsn;	    /* where the previous timeline ended */
	const char *leader; /* the new leader, or NULL */
};

/* A PATCH /config body under construction (pass arena). */
struct patroni_patch;

/* ---- reading (GET; no credentials) */

int patroni_get_cluster(struct patroni_cluster **out, struct dbops_ctx *ctx,
			const struct patroni_endpoint *ep);
int patroni_get_config(struct patroni_config **out, struct dbops_ctx *ctx,
		       const struct patroni_endpoint *ep);
/* The last switch of GET /history; *out NULL when the history is empty. */
int patroni_get_last_switch(struct patroni_switch **out, struct dbops_ctx *ctx,
			    const struct patroni_endpoint *ep);

/* The parsers behind them (pure; unit-tested on Patroni's shapes). `url`
 * names the endpoint in messages ("GET http://.../cluster"). */
int patroni_parse_cluster(struct patroni_cluster **out, struct dbops_ctx *ctx,
			  const char *json, const char *url);
int patroni_parse_config(struct patroni_config **out, struct dbops_ctx *ctx,
			 const char *json, const char *url);
int patroni_parse_history(struct patroni_switch **out, struct dbops_ctx *ctx,
			  const char *json, const char *url);

/* ---- lookups */

const struct patroni_member *
patroni_member_find(const struct patroni_cluster *c, const char *name);
/* The leader (leader or standby_leader role), or NULL. */
const struct patroni_member *patroni_leader(const struct patroni_cluster *c);
/* A parameter of the dynamic configuration, or NULL. */
const char *patroni_param(const struct patroni_config *cfg, const char *name);
/* Whether `state` is a member that runs and replicates ("running" in
 * 3.0.2, "streaming" in later versions). */
bool patroni_state_running(const char *state);

/* ---- PATCH /config */

struct patroni_patch *patroni_patch_new(struct dbops_ctx *ctx);
void patroni_patch_bool(struct patroni_patch *p, const char *key, bool v);
void patroni_patch_int(struct patroni_patch *p, const char *key, int64_t v);
/* postgresql.<key> (use_slots) */
void patroni_patch_pg_bool(struct patroni_patch *p, const char *key, bool v);
/* postgresql.parameters.<name> as a string; NULL removes it (null). */
void patroni_patch_param(struct patroni_patch *p, const char *name,
			 const char *value);
/* The body as compact JSON text (pass arena). */
const char *patroni_patch_text(struct patroni_patch *p);
/* Send it; *after (may be NULL) gets the configuration Patroni answers.
 * A 409 (the configuration moved meanwhile) is retried, the body being a
 * merge of the keys it names only. */
int patroni_patch_config(struct patroni_config **after, struct dbops_ctx *ctx,
			 const struct patroni_endpoint *ep,
			 struct patroni_patch *p);

/* ---- POST */

/*
 * POST /switchover {leader, candidate[, scheduled_at]}: Patroni answers
 * when it is done (200; *message says to whom it switched), scheduled
 * (202) or why not (412, 400...; an error diagnostic with Patroni's
 * words). *status_out gets the HTTP status.
 */
int patroni_switchover(const char **message, int *status_out,
		       struct dbops_ctx *ctx, const struct patroni_endpoint *ep,
		       const char *leader, const char *candidate,
		       const char *scheduled_at);
/*
 * POST /restart on one member, `{"restart_pending": true}`: sent to the
 * member's own API, which must be one of the endpoint's URLs (an address
 * learned from the DCS is not trusted with the credentials).
 */
int patroni_restart(struct dbops_ctx *ctx, const struct patroni_endpoint *ep,
		    const struct patroni_member *m);

/* The base URL of a member's api_url ("http://h:p/patroni" gives
 * "http://h:p") when it is one of the endpoint's URLs, else NULL. */
const char *patroni_member_base(struct dbops_ctx *ctx,
				const struct patroni_endpoint *ep,
				const struct patroni_member *m);

/* Whether `url` is a REST endpoint dbops accepts: http:// or https://,
 * a host, an optional port, no credentials, query or fragment; *why
 * says what is wrong otherwise. */
bool patroni_url_valid(const char *url, const char **why);

#endif
