/* SPDX-License-Identifier: PostgreSQL */
/*
 * backups_int.h — the private interface between the files of the
 * "backups" plugin: the parsed spec, the repository (a POSIX directory or
 * an S3 bucket) with its encoders (lz4/zstd compression, AES-256-GCM
 * encryption), the catalog of backups kept in it, the replication-protocol
 * client, the restore machinery and the callbacks backups.c puts in the
 * descriptor.
 *
 * The repository, codec, catalog, cron and retention code does not use the
 * host table, so the tools (`dbops wal-push`, `dbops wal-fetch`), which run
 * without one, and the unit tests share it. Errors of that code travel in a
 * struct bak_err (a message and a detail, no globals); the plugin turns
 * them into diagnostics, the tools print them.
 *
 * Everything here has the bak_ prefix and hidden visibility.
 */
#ifndef DBOPS_BAK_INT_H
#define DBOPS_BAK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "dbops/host.h"
#include "dbops/plugin.h"
#include "dbops/spec.h"

/* ---- errors outside the host table ------------------------------------ */

struct bak_err {
	int code;	  /* enum dbops_err */
	char msg[512];	  /* primary message, PostgreSQL style */
	char detail[512]; /* a sentence, or "" */
};

/* Set *e (when e is not NULL) and return `code`. */
int bak_fail(struct bak_err *e, int code, const char *fmt, ...)
    DBOPS_PRINTF(3, 4);
void bak_err_detail(struct bak_err *e, const char *fmt, ...) DBOPS_PRINTF(2, 3);
/* Print "ERROR:  msg" (and DETAIL) on stderr, as the tools do. */
void bak_err_print(const struct bak_err *e);

/* ---- a growable buffer -------------------------------------------------- */

struct bak_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};

void bak_buf_add(struct bak_buf *b, const void *data, size_t len);
void bak_buf_addf(struct bak_buf *b, const char *fmt, ...) DBOPS_PRINTF(2, 3);
void bak_buf_free(struct bak_buf *b);
/* NUL-terminated view of the contents (a NUL is kept past len). */
const char *bak_buf_str(struct bak_buf *b);

/* ---- codecs: compression and encryption -------------------------------- */

enum bak_compress {
	BAK_COMP_NONE = 0,
	BAK_COMP_LZ4,
	BAK_COMP_ZSTD,
};

#define BAK_KEY_LEN 32 /* AES-256 */

/*
 * A sink receives bytes; writers stack: encoder → encrypter → repository
 * upload. `write` with len 0 and `final` set ends the stream.
 */
struct bak_sink {
	int (*write)(struct bak_sink *s, const void *data, size_t len,
		     bool final, struct bak_err *e);
	void (*free)(struct bak_sink *s);
};

/* A compressing sink in front of `next` (NONE returns `next` itself). The
 * frame formats are lz4's and zstd's own: an unencrypted object reads with
 * `lz4 -d` or `zstd -d`. */
struct bak_sink *bak_compressor_new(enum bak_compress c, int level,
				    struct bak_sink *next);
/* An encrypting sink in front of `next` (format in codec.c). */
struct bak_sink *bak_encrypter_new(const unsigned char key[BAK_KEY_LEN],
				   struct bak_sink *next);
/* A decoding sink: recognises an encrypted object, then an lz4 or zstd
 * frame, by their magic numbers, and passes the plain bytes to `next`.
 * `key` may be NULL: an encrypted object is then an error. */
struct bak_sink *bak_decoder_new(const unsigned char *key,
				 struct bak_sink *next);
/* A sink that appends to a buffer. */
struct bak_sink *bak_bufsink_new(struct bak_buf *b);
/* Free a chain from its head down. */
void bak_sink_free_chain(struct bak_sink *s);

/* Parse a key: 64 hex digits (openssl rand -hex 32). */
int bak_key_parse(unsigned char key[BAK_KEY_LEN], const char *text,
		  struct bak_err *e);
/* Compression names: "lz4", "zstd", "zstd:3", "none". */
int bak_compress_parse(enum bak_compress *c, int *level, const char *text);
const char *bak_compress_name(enum bak_compress c);

/* CRC-32C (Castagnoli), as PostgreSQL's backup manifests use. */
uint32_t bak_crc32c(uint32_t crc, const void *data, size_t len);
/* SHA-256 as 64 hex digits into out[65]. */
void bak_sha256_hex(char out[65], const void *data, size_t len);

/* ---- the repository ------------------------------------------------------ */

/* Where a repository is and how to reach it: everything the tools'
 * command lines carry. Secrets are values here, read by the caller. */
struct bak_repo_opts {
	bool s3;
	const char *path;     /* posix: an absolute directory */
	const char *endpoint; /* s3: https://host[:port] */
	const char *bucket;
	const char *region;
	const char *prefix; /* "" or "a/b" (no leading or trailing /) */
	bool virtual_style; /* bucket.host/key, else host/bucket/key */
	bool verify_tls;
	const char *access_key;
	const char *secret_key;
	int retries;	  /* transient failures retried this often */
	size_t part_size; /* s3: multipart part size; 0: 16 MiB */
};

struct bak_repo;

int bak_repo_open(struct bak_repo **out, const struct bak_repo_opts *o,
		  struct bak_err *e);
void bak_repo_close(struct bak_repo *r);
/* A short description for messages: "/var/backups" or
 * "s3://bucket/prefix". */
const char *bak_repo_describe(const struct bak_repo *r);

/*
 * Upload: the object becomes visible under `key` only when bak_put_end
 * succeeds (POSIX: written aside, fsync'd, linked into place, directory
 * fsync'd; S3: one PUT, or a multipart upload completed at the end). With
 * `exclusive`, an existing object is not replaced: bak_put_end fails with
 * DBOPS_ERR_CONFLICT. bak_put_abort discards an unfinished upload.
 */
struct bak_put;
int bak_put_begin(struct bak_put **out, struct bak_repo *r, const char *key,
		  bool exclusive, struct bak_err *e);
struct bak_sink *bak_put_sink(struct bak_put *p);
int bak_put_end(struct bak_put *p, struct bak_err *e);
void bak_put_abort(struct bak_put *p);
/* A whole object at once. */
int bak_repo_put(struct bak_repo *r, const char *key, const void *data,
		 size_t len, bool exclusive, struct bak_err *e);

/* Stream an object into `sink` (not ended); DBOPS_ERR_NOTFOUND when it
 * does not exist. */
int bak_repo_get(struct bak_repo *r, const char *key, struct bak_sink *sink,
		 struct bak_err *e);
/* Whether an object exists (its size in *size). */
int bak_repo_stat(bool *exists, uint64_t *size, struct bak_repo *r,
		  const char *key, struct bak_err *e);
/* The keys below `prefix` (which ends with "/"), relative to it, sorted
 * bytewise; only objects, at any depth. The strings are the caller's to
 * free with bak_strv_free. */
int bak_repo_list(char ***keys_out, size_t *n_out, struct bak_repo *r,
		  const char *prefix, struct bak_err *e);
int bak_repo_delete(struct bak_repo *r, const char *key, struct bak_err *e);
void bak_strv_free(char **v, size_t n);

/* The posix and s3 implementations (repo_posix.c, repo_s3.c). */
struct bak_repo_ops {
	int (*put_begin)(struct bak_put **out, struct bak_repo *r,
			 const char *key, bool exclusive, struct bak_err *e);
	int (*get)(struct bak_repo *r, const char *key, struct bak_sink *sink,
		   struct bak_err *e);
	int (*stat)(bool *exists, uint64_t *size, struct bak_repo *r,
		    const char *key, struct bak_err *e);
	int (*list)(char ***keys_out, size_t *n_out, struct bak_repo *r,
		    const char *prefix, struct bak_err *e);
	int (*del)(struct bak_repo *r, const char *key, struct bak_err *e);
	void (*close)(struct bak_repo *r);
};

struct bak_repo {
	const struct bak_repo_ops *ops;
	struct bak_repo_opts o;
	char desc[512];
	void *impl;
};

struct bak_put {
	struct bak_sink sink; /* first: the upload is a sink */
	struct bak_repo *repo;
	int (*end)(struct bak_put *p, struct bak_err *e);
	void (*abort)(struct bak_put *p);
};

extern const struct bak_repo_ops bak_posix_ops;
extern const struct bak_repo_ops bak_s3_ops;

/* Encoded upload and download: compress, encrypt, store; and back. */
struct bak_codec {
	enum bak_compress compress;
	int level;
	bool encrypt;
	unsigned char key[BAK_KEY_LEN];
};

/* A chain put → encrypter → compressor, ready for data; `put` ends it. */
int bak_put_encoded(struct bak_put **put_out, struct bak_sink **head_out,
		    struct bak_repo *r, const char *key, bool exclusive,
		    const struct bak_codec *c, struct bak_err *e);
/* A whole object decoded into a buffer. */
int bak_get_decoded(struct bak_buf *out, struct bak_repo *r, const char *key,
		    const struct bak_codec *c, struct bak_err *e);

/* ---- WAL ---------------------------------------------------------------- */

#define BAK_WAL_SEG_SIZE (16u * 1024 * 1024)

/* Whether a name is a WAL segment ("000000010000000000000001"). */
bool bak_wal_is_segment(const char *name);
/* The repository key of an archived file: "wal/0000000100000000/NAME" for
 * a segment (and its .partial), "wal/NAME" for history and .backup files. */
void bak_wal_key(char *out, size_t size, const char *name);
/* Segment name holding `lsn` on timeline `tli` (16 MB segments). */
void bak_wal_segment_name(char out[25], uint32_t tli, uint64_t lsn,
			  uint64_t seg_size);
/* Parse "16/B374D848". */
bool bak_lsn_parse(uint64_t *out, const char *text);
/* The tools: argv[0] is "wal-push" or "wal-fetch". */
int bak_tool(const char *name, int argc, char **argv);

/* ---- cron schedules ------------------------------------------------------ */

struct bak_cron {
	uint64_t minute; /* bit i: minute i allowed */
	uint32_t hour;
	uint32_t mday;	/* bits 1..31 */
	uint16_t month; /* bits 1..12 */
	uint8_t wday;	/* bits 0..6, Sunday 0 */
	bool mday_star, wday_star;
};

/* Five fields, or @daily/@weekly/@hourly/@monthly. Returns false and
 * writes a sentence saying why into why[whylen] when it does not parse. */
bool bak_cron_parse(struct bak_cron *c, const char *text, char *why,
		    size_t whylen);
/* The first time after `after` (UTC, whole minutes) the schedule fires. */
time_t bak_cron_next(const struct bak_cron *c, time_t after);
/* The last time at or before `at` it fired (at most a year back; 0). */
time_t bak_cron_prev(const struct bak_cron *c, time_t at);

/* ---- the catalog ----------------------------------------------------------- */

/* A file of a backup's contents. */
struct bak_file {
	const char *path;
	uint64_t size;
	int64_t mtime;	       /* seconds since the epoch */
	uint32_t crc;	       /* CRC-32C of the contents */
	const char *stored_in; /* the backup id whose archive holds it */
};

/* One backup, as backup.json in the repository describes it. */
struct bak_backup {
	const char *id;	    /* "20260101T030000Z" + "F" or "I" */
	const char *type;   /* "full" or "incremental" */
	const char *parent; /* incremental: the backup it builds on */
	const char *label;
	uint64_t start_lsn, stop_lsn;
	uint32_t timeline;
	int64_t start_time, stop_time; /* seconds since the epoch */
	/* the server's clock once the backup was consistent (its stop LSN
	 * written), in microseconds since the epoch: a recovery target time
	 * at or after it cannot stop before the backup is consistent */
	int64_t stop_usec;
	const char *wal_start, *wal_stop; /* segment names */
	uint64_t size;			  /* bytes of the data restored */
	uint64_t stored_size;		  /* bytes in the repository */
	const char *archive;		  /* "data.tar" object name */
	const char *compression;	  /* "lz4", "zstd", "none" */
	bool server_compressed;
	bool encrypted;
	const char *source; /* "primary" or the standby's name */
	const char *system_id;
	int pg_version;
	struct bak_file *files; /* every file of the restored data dir */
	size_t nfiles;
};

/* A backup's JSON (with files) and back. Strings are allocated with
 * malloc and freed by bak_backup_dispose. */
char *bak_backup_to_json(const struct bak_backup *b);
int bak_backup_from_json(struct bak_backup *out, const char *json,
			 struct bak_err *e);
void bak_backup_dispose(struct bak_backup *b);
/* The files of PostgreSQL's backup_manifest (JSON, CRC32C checksums). */
int bak_manifest_files(struct bak_file **files_out, size_t *n_out,
		       const char *json, size_t len, const char *backup_id,
		       struct bak_err *e);
int64_t bak_time_parse(const char *text); /* "2026-01-01 03:00:00 GMT" */
/* The same in microseconds since the epoch (the fraction kept); -1 when
 * not a time. */
int64_t bak_time_parse_usec(const char *text);
/* After a backup: the server's clock (stop_usec) and stop_time from it;
 * the local clock, rounded up to the next second, when the query fails. */
void bak_stop_clock(struct bak_backup *b, struct dbops_ctx *ctx);

/* The catalog: every complete backup of the repository, oldest first. */
struct bak_catalog {
	struct bak_backup *v;
	size_t n;
};
int bak_catalog_load(struct bak_catalog *out, struct bak_repo *r,
		     const struct bak_codec *c, bool with_files,
		     struct bak_err *e);
void bak_catalog_dispose(struct bak_catalog *cat);
const struct bak_backup *bak_catalog_find(const struct bak_catalog *cat,
					  const char *id);
/* The chain that restores backup `b`: the full first, `b` last. Returns
 * its length, 0 when a parent is missing. */
size_t bak_catalog_chain(const struct bak_backup **chain, size_t max,
			 const struct bak_catalog *cat,
			 const struct bak_backup *b);

/* ---- retention (pure) -------------------------------------------------------- */

struct bak_retention {
	int64_t full;	 /* keep this many full backups; 0: no count rule */
	int64_t age_sec; /* keep what restores to any time this far back; 0 */
};

/* keep[i] for each backup of the catalog: whether the policy keeps it.
 * The newest full backup and its incrementals are always kept; an
 * incremental is kept exactly when its full is. Returns how many go. */
size_t bak_retention_select(bool *keep, const struct bak_catalog *cat,
			    const struct bak_retention *rp, int64_t now);
/* The oldest WAL segment still needed (the oldest kept backup's start),
 * or NULL when nothing is kept. */
const char *bak_retention_wal_floor(const struct bak_catalog *cat,
				    const bool *keep);

/* ---- the parsed spec --------------------------------------------------------- */

struct bak_check {
	const char *sql;
	const char *expect;
	const char *database; /* NULL: the default */
	struct dbops_loc loc;
};

struct bak_spec {
	struct bak_repo_opts repo; /* without secret values */
	struct dbops_secret_ref access_key, secret_key; /* s3 */
	bool has_access_key;
	struct bak_codec codec; /* without the key */
	struct dbops_secret_ref enc_key;
	bool server_compress;  /* compression on the server (BASE_BACKUP) */
	const char *full_cron; /* or NULL */
	const char *incr_cron; /* or NULL */
	struct bak_retention retention;
	int64_t archive_timeout; /* seconds; 0: leave the server's */
	int64_t rpo, rto;	 /* seconds; 0: none */
	const char *from;	 /* NULL: the primary; else a replicas member */
	const char *dbops_path;	 /* the dbops that archive_command runs */
	const char *bindir;	 /* PostgreSQL programs, or NULL */
	const char *os_user;	 /* NULL: postgres when root */
	const char *drill_cron;
	const char *drill_dir;
	int64_t drill_port; /* 0: the first free port from 26432 */
	int64_t drill_max;  /* seconds; 0: none */
	struct bak_check *checks;
	size_t nchecks;
	const char *archive_command;	  /* what the plan shows and sets */
	const char *restore_command_base; /* "dbops wal-fetch OPTIONS" */
	struct dbops_loc loc;
	struct dbops_loc retention_loc, objectives_loc;
};

int bak_validate(struct dbops_ctx *ctx, const struct dbops_node *section);
/* The spec as validate parsed it (kept in the plugin-instance state). */
const struct bak_spec *bak_spec_of(struct dbops_ctx *ctx,
				   const struct dbops_node *section);
int bak_duration(int64_t *out, const char *text);

/* ---- the live side, changes and commands --------------------------------------- */

struct bak_live {
	bool repo_ok;
	char repo_error[1100];
	struct bak_catalog cat;
	const char *newest_wal; /* in the repository, or NULL */
	const char **wal_keys;	/* every object below wal/ (relative) */
	size_t nwal;
	/* pg_stat_archiver */
	const char *archive_mode, *archive_command;
	const char *last_archived_wal, *last_failed_wal;
	int64_t last_archived_time, last_failed_time;
	int64_t failed_count, archived_count;
	const char *current_wal;
	int64_t now, started;
	bool in_recovery;
	/* the last drill, from dbops.backup_drills */
	bool has_drill;
	int64_t drill_time;
	double drill_rto;
	bool drill_ok;
	int pg_version;
	const char *system_id;
};

int bak_observe(void **live_out, struct dbops_ctx *ctx,
		const struct dbops_node *section);
int bak_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live);
int bak_apply(struct dbops_ctx *ctx, const struct dbops_change *change);
/* The worst-case seconds of WAL not archived (0 while archiving keeps up). */
int64_t bak_actual_rpo(const struct bak_live *l);
int bak_status(struct dbops_ctx *ctx, const struct dbops_node *section,
	       void *live);

/* Open the spec's repository during a pass (secrets read there). */
int bak_repo_for(struct bak_repo **out, struct bak_codec *codec,
		 struct dbops_ctx *ctx, const struct bak_spec *spec);
/* Report a bak_err as an error diagnostic; returns its code. */
int bak_diag(struct dbops_ctx *ctx, const struct dbops_loc *loc,
	     const struct bak_err *e);

/* Payloads of the plugin's changes. */
enum bak_op {
	BAK_OP_BACKUP = 1,
	BAK_OP_EXPIRE,
	BAK_OP_EXPIRE_WAL,
	BAK_OP_RESTORE,
	BAK_OP_DRILL,
	BAK_OP_VERIFY,
};

struct bak_payload {
	enum bak_op op;
	const struct bak_spec *spec; /* as diff parsed it */
	const char *backup_id;	     /* EXPIRE; RESTORE: the chosen backup */
	bool incremental;	     /* BACKUP */
	const char *wal_floor;	     /* EXPIRE_WAL */
	/* RESTORE */
	const char *target_kind; /* "latest", "time", "lsn", "immediate" */
	const char *target;
	const char *data_dir;
	int port;
};

/* base.c: a full backup over the replication protocol, and what the
 * incremental backup shares with it. */
int bak_backup_full(struct dbops_ctx *ctx, const struct bak_spec *s);
/* The id of a new backup: its start time to the second, and F or I; when
 * the repository already has that id (a backup of the same kind started
 * in the same second), the next second's. */
int bak_new_id(const char **out, struct dbops_ctx *ctx, struct bak_repo *r,
	       bool incremental, struct bak_err *e);
const char *bak_archive_name(struct dbops_ctx *ctx, enum bak_compress c,
			     bool encrypted);
char *bak_system_id(struct dbops_ctx *ctx);
int bak_check_archiving(struct dbops_ctx *ctx, const struct bak_spec *s);
/* A connection (PGconn) to the primary or the spec's standby, a
 * replication one or not; the caller PQfinish'es it. */
int bak_replication_connect(void **out_conn, struct dbops_ctx *ctx,
			    const struct bak_spec *s, bool replication);
/* The host and port of `from`, the replicas member the spec backs up
 * from, as the replicas plugin publishes them (replicas.member.NAME.*). */
int bak_member_address(const char **host, const char **port,
		       struct dbops_ctx *ctx, const struct bak_spec *s);
int bak_wait_wal(struct dbops_ctx *ctx, const struct bak_spec *s,
		 struct bak_repo *repo, const char *segment);
void bak_wal_range(struct bak_backup *b);
/* Remove what a failed backup uploaded (best effort). */
void bak_discard(struct bak_repo *repo, const char *id);
int bak_catalog_put(struct dbops_ctx *ctx, const struct bak_spec *s,
		    struct bak_repo *repo, const struct bak_backup *b);
/* incr.c: an incremental backup from the data directory. */
int bak_backup_incremental(struct dbops_ctx *ctx, const struct bak_spec *spec,
			   const char *parent_id);
/* restore.c */
struct bak_restore_result {
	double fetch_s, start_s, recover_s, total_s;
	char recovered_lsn[32];
	char port[16];	 /* where the restored server listens */
	char sock[1024]; /* its socket directory */
};
int bak_restore_run(struct bak_restore_result *res, struct dbops_ctx *ctx,
		    const struct bak_spec *spec, const struct bak_payload *p,
		    bool drill);
/* Stop a server started by restore and remove its directory. */
int bak_restore_cleanup(struct dbops_ctx *ctx, const struct bak_spec *spec,
			const char *data_dir, bool remove);
/* verify.c: check backups' files and WAL ranges; a report through out. */
int bak_verify(struct dbops_ctx *ctx, const struct bak_spec *spec,
	       struct bak_live *live, const char *only_id);
/* drill.c */
int bak_drill(struct dbops_ctx *ctx, const struct bak_spec *spec);
/* The tar reader/writer (tar.c). */
struct bak_tar_entry {
	char name[256 + 156];
	char type; /* '0' file, '5' directory, '2' symlink */
	uint64_t size;
	int64_t mtime;
	unsigned mode;
	char linkname[101];
};

/* A sink that parses a tar stream and calls `entry` for every member
 * (data then arrives through `data`, ending with len 0). */
struct bak_tar_reader_cb {
	int (*entry)(void *arg, const struct bak_tar_entry *te,
		     struct bak_err *e);
	int (*data)(void *arg, const void *buf, size_t len, struct bak_err *e);
	int (*end)(void *arg, struct bak_err *e); /* end of a member */
	void *arg;
};
struct bak_sink *bak_tar_reader_new(const struct bak_tar_reader_cb *cb);
/* Tar headers for the writer: 512-byte ustar header into hdr. */
int bak_tar_header(unsigned char hdr[512], const struct bak_tar_entry *te);
/* Padding after `size` bytes of member data, and the end of the archive. */
size_t bak_tar_padding(uint64_t size);

/* Extract a restore chain's archives into data_dir (restore.c). */
int bak_extract_chain(struct dbops_ctx *ctx, struct bak_repo *repo,
		      const struct bak_codec *codec,
		      const struct bak_backup *const *chain, size_t n,
		      const char *data_dir, uid_t uid, gid_t gid,
		      struct bak_err *e);

/* run.c: PostgreSQL programs, as the spec's OS user. */
const char *bak_program(struct dbops_ctx *ctx, const struct bak_spec *spec,
			const char *name);
int bak_run(const char **output_out, struct dbops_ctx *ctx,
	    const struct bak_spec *spec, const char *const *argv);
/* The OS user that runs servers (uid/gid), or our own. */
int bak_os_user(uid_t *uid, gid_t *gid, struct dbops_ctx *ctx,
		const struct bak_spec *spec);

/* The schema of drills' results in the cluster. */
#define BAK_DRILL_TABLE "dbops.backup_drills"

#endif
