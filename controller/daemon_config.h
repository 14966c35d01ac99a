/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_config.h — the sections of dbops' configuration file (config.h)
 * that `dbops daemon`, `dbops review` and `dbops status --daemon` read:
 *
 *   source:    the repository the daemon reconciles (url, branch, path,
 *              credentials by secret reference)
 *   daemon:    interval, jitter, workers, identity, and the defaults of
 *              every cluster (drift policy, maintenance windows)
 *   fleet:     the clusters (default: every cluster of dbops.yaml), each
 *              with its own drift policy and windows
 *   http:      the endpoint (/metrics, /livez, /readyz, /status,
 *              /hooks/git), loopback by default, TLS optional
 *   notify:    webhooks told of state changes
 *   forge:     GitHub or GitLab, for plans on pull requests
 *
 * Everything is read like a spec (located errors, unknown keys with a "did
 * you mean"), every problem at once, and nothing is connected to. Secrets
 * stay references here; their values are read where they are used.
 * specs/README.md documents every key with its type and default.
 */
#ifndef DBOPS_CTRL_DAEMON_CONFIG_H
#define DBOPS_CTRL_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "dbops/diag.h"
#include "dbops/spec.h"
#include "window.h"

/* What the daemon does with a planned change (drift). */
enum drift_policy {
	DRIFT_ENFORCE = 0, /* apply it (self-heal) */
	DRIFT_REPORT,	   /* report it in status and metrics, change nothing */
	DRIFT_IGNORE,	   /* neither: as if it were not there */
};

const char *drift_policy_name(enum drift_policy p);

/* `pattern: policy` — a plugin name, or a glob over change addresses. */
struct drift_rule {
	const char *pattern;
	enum drift_policy policy;
	struct dbops_loc loc;
};

struct drift_conf {
	bool has_default;
	enum drift_policy def;
	struct drift_rule *plugins; /* plugin name: policy */
	size_t nplugins;
	struct drift_rule *objects; /* address glob: policy, in file order */
	size_t nobjects;
};

/* One cluster of the fleet and what it overrides. */
struct daemon_cluster {
	const char *name; /* the dbops.yaml name */
	struct drift_conf drift;
	bool has_windows;
	struct window *windows;
	size_t nwindows;
	struct dbops_loc loc;
};

struct notify_target {
	const char *url;
	bool slack; /* format: slack ({"text": ...}) rather than json */
	int retries;
	double backoff_s; /* the first retry's delay; doubled each time */
	struct dbops_loc loc;
};

enum forge_kind {
	FORGE_NONE = 0,
	FORGE_GITHUB,
	FORGE_GITLAB,
};

struct daemon_config {
	struct config base; /* apiVersion, secrets, trusted_rev, clusters */

	/* source: */
	bool has_source;
	const char *url;    /* a local path or a URL */
	const char *branch; /* default "main" */
	const char *path;   /* a directory of the repository, or "" */
	bool has_token;
	struct dbops_secret_ref token; /* https */
	const char *git_user;
	const char *ssh_key; /* a file path (libgit2 reads it) */
	bool has_ssh_passphrase;
	struct dbops_secret_ref ssh_passphrase;
	const char *cache_dir; /* or NULL: dbops' default */

	/* daemon: */
	double interval_s;    /* default 60 */
	double jitter;	      /* a fraction of the interval, default 0.1 */
	int workers;	      /* default 4 */
	const char *identity; /* or NULL: host/pid */
	struct drift_conf drift;
	struct window *windows;
	size_t nwindows;

	/* fleet: */
	bool fleet_explicit; /* fleet.clusters given */
	struct daemon_cluster *clusters;
	size_t nclusters;

	/* http: */
	bool http_enabled;		/* default true */
	const char *listen_host;	/* default 127.0.0.1 */
	int listen_port;		/* default 9187 */
	const char *tls_cert, *tls_key; /* PEM files, or NULL */
	bool has_webhook_secret;
	struct dbops_secret_ref webhook_secret;
	size_t max_body; /* bytes of a webhook body, default 1 MiB */

	/* notify: */
	struct notify_target *notify;
	size_t nnotify;

	/* forge: */
	enum forge_kind forge;
	const char *forge_url;	   /* API root */
	const char *forge_repo;	   /* owner/name, or a GitLab project */
	const char *forge_context; /* the commit status's name */
	struct dbops_secret_ref forge_token;
};

/* The extra top-level keys of the configuration file. */
extern const char *const daemon_config_sections[];

/*
 * Read `path` (NULL: $DBOPS_CONFIG) with config_load and the daemon's
 * sections. Returns 0 or DBOPS_ERR_INVALID / DBOPS_ERR_NOTFOUND with
 * located diagnostics for every problem.
 */
int daemon_config_load(struct daemon_config *out, struct arena *a,
		       struct dbops_diag_list *diags, const char *path);

/* The fleet entry of a cluster, or NULL (it then follows the daemon's
 * defaults). */
const struct daemon_cluster *
daemon_config_cluster(const struct daemon_config *c, const char *name);

/*
 * The policy for a change of `plugin` at `address` on cluster `cl` (may be
 * NULL): the first matching object rule of the cluster, then of the
 * daemon; then the plugin's policy (cluster, then daemon); then the
 * cluster's default, then the daemon's; else enforce.
 */
enum drift_policy daemon_config_policy(const struct daemon_config *c,
				       const struct daemon_cluster *cl,
				       const char *plugin, const char *address);

/* The windows that apply to cluster `cl` (its own, else the daemon's). */
void daemon_config_windows(const struct window **out, size_t *n,
			   const struct daemon_config *c,
			   const struct daemon_cluster *cl);

#endif
