#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The backups plugin on S3: a real S3 server on loopback (s3rver, from npm,
# installed by contrib/install-deps.sh) behind tests/fixtures/
# s3_sigv4_proxy.py, which checks every request's AWS Signature V4 with the
# test's secret (s3rver itself accepts any), over TLS with a certificate
# made here. The repository is encrypted (AES-256-GCM) and zstd-compressed
# on the client; the base backup is large enough to go up as a multipart
# upload. A wrong secret is refused; a wal-push killed in the middle of a
# multipart upload leaves nothing visible; archiving to a wrong endpoint
# for longer than the RPO objective shows as degraded and recovers when
# the endpoint is right again; no secret ever shows in a plan, a log or an
# error.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backups_lib.sh"

S3RVER=$DBOPS_SRCDIR/build/npm/node_modules/.bin/s3rver
PROXY=$DBOPS_SRCDIR/tests/fixtures/s3_sigv4_proxy.py

check "the SigV4 checker agrees with AWS's published examples" \
	python3 "$PROXY" --self-test
check "s3rver is installed (contrib/install-deps.sh)" test -x "$S3RVER" ||
	exit 1

# s3rver knows one account, S3RVER; the proxy checks the secret.
export DBOPS_SECRET_S3_KEY=S3RVER
DBOPS_SECRET_S3_SECRET=$(head -c 30 /dev/urandom | base64 | tr -d '/+=')
DBOPS_SECRET_BACKUP_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export DBOPS_SECRET_S3_SECRET DBOPS_SECRET_BACKUP_KEY
all_out=$T_TMP/all-output
: >"$all_out"
keep()
{
	printf '%s\n' "$T_OUT" >>"$all_out"
}

mkdir -p "$T_TMP/s3"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/s3/key.pem" \
	-out "$T_TMP/s3/cert.pem" -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1
s3port=$(bk_free_port 28600)
"$S3RVER" -d "$T_TMP/s3/data" -a 127.0.0.1 -p "$s3port" --silent \
	--configure-bucket dbops-test --allow-mismatched-signatures \
	>"$T_TMP/s3/s3rver.log" 2>&1 &
s3pid=$!
on_exit "kill $s3pid 2>/dev/null"
pport=$(bk_free_port $((s3port + 1)))
python3 "$PROXY" --port "$pport" --upstream "$s3port" --access-key S3RVER \
	--secret-env DBOPS_SECRET_S3_SECRET --cert "$T_TMP/s3/cert.pem" \
	--key "$T_TMP/s3/key.pem" --log "$T_TMP/s3/proxy.log" \
	>"$T_TMP/s3/proxy.out" 2>&1 &
proxypid=$!
on_exit "kill $proxypid 2>/dev/null"
for i in $(seq 1 100); do
	! bk_port_free "$s3port" && grep -q ready "$T_TMP/s3/proxy.out" && break
	sleep 0.1
done
check "s3rver and the proxy listen" test "$i" -lt 100 || exit 1

bk_setup
spec=$T_TMP/spec

# write_spec [PORT]: the spec, the endpoint on PORT (default the proxy's)
write_spec()
{
	cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bks3
backups:
  repository:
    s3:
      endpoint: https://127.0.0.1:${1:-$pport}
      bucket: dbops-test
      region: us-east-1
      prefix: clusters/bks3
      uri_style: path
      verify_tls: false
      part_size: 5MB
      credentials:
        access_key_id: {env: DBOPS_SECRET_S3_KEY}
        secret_access_key: {env: DBOPS_SECRET_S3_SECRET}
  compression: {type: zstd, where: client}
  encryption: {key: {env: DBOPS_SECRET_BACKUP_KEY}}
  objectives: {rpo: 3s}
  dbops: $BK_BIN/dbops
YAML
}
write_spec

check_exit "the plan turns archiving on" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
keep
check_contains "archive_command names the secrets by reference" "$T_OUT" \
	"--access-key-env DBOPS_SECRET_S3_KEY --secret-key-env DBOPS_SECRET_S3_SECRET --compress zstd --key-env DBOPS_SECRET_BACKUP_KEY %p"
check "apply" "$DBOPS" apply --dir "$spec" --no-color --auto-approve
keep
bk_restart
check_exit "after the restart the plan is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
keep

# ---- a base backup in parts, then a restore --------------------------------------
psql_q "CREATE TABLE w (n int PRIMARY KEY); CREATE TABLE blob AS SELECT g, decode(md5(g::text) || md5((g * 7)::text), 'hex') AS b FROM generate_series(1, 300000) g"
check "a full backup to S3" "$DBOPS" backup run --dir "$spec" --no-color \
	--auto-approve
keep
full=$(sed -n 's/.*backup \([0-9TZ]*F\): .*/\1/p' <<<"$T_OUT" | head -n 1)
check "its id is reported" test -n "$full"
check "it went up as a multipart upload" grep -q \
	"PUT /dbops-test/clusters/bks3/backups/$full/data.tar.zst.enc?partNumber=2&uploadId=" \
	"$T_TMP/s3/proxy.log"
stored=$(find "$T_TMP/s3/data" -path "*backups/$full/data.tar.zst.enc*" -type f -name '*object*' | head -n 1)
check "the stored archive is encrypted" test "$(head -c 8 "$stored")" = DBOPSAE1
psql_q "INSERT INTO w SELECT g FROM generate_series(1, 25) g"
check "the WAL reaches S3" bk_wait_archived
check_eq "archiving has not failed" \
	"$(psql_q "SELECT failed_count FROM pg_stat_archiver")" 0
bk_restore latest latest
keep
check_eq "restore from S3 to latest succeeds" "$T_RC" 0 || diag "$T_OUT"
check_eq "with every row" "$(bk_restored_sql "SELECT count(*) FROM w")" 25
check_eq "and the large table whole" \
	"$(bk_restored_sql "SELECT count(*), sum(length(b)) FROM blob")" \
	"300000|9600000"
bk_stop_restored
check "backup verify passes" "$DBOPS" backup verify --dir "$spec" --no-color
keep
check "backup list" "$DBOPS" backup list --dir "$spec" --no-color
keep
check_contains "lists the backup" "$T_OUT" "$full"

# ---- the wrong secret --------------------------------------------------------------
T_OUT=$(DBOPS_SECRET_S3_SECRET=not-the-secret "$DBOPS" backup list \
	--dir "$spec" --no-color 2>&1)
T_RC=$?
keep
check_eq "a wrong secret is refused (exit 1)" "$T_RC" 1
check_contains "by the signature check" "$T_OUT" "SignatureDoesNotMatch"
check_not_contains "without showing the secret it tried" "$T_OUT" \
	"not-the-secret"

# ---- wal-push killed in the middle of a multipart upload ------------------------------
mkdir -p "$T_TMP/k"
head -c 16777216 /dev/urandom >"$T_TMP/k/0000000100000000000000F0"
kopts=(--repo s3://dbops-test/killtest --endpoint "https://127.0.0.1:$pport"
	--region us-east-1 --uri-style path --no-verify-tls --part-size 5
	--access-key-env DBOPS_SECRET_S3_KEY
	--secret-key-env DBOPS_SECRET_S3_SECRET --compress none)
DBOPS_TEST_WAL_PUSH_PAUSE_MS=10000 "$BK_BIN/dbops" wal-push "${kopts[@]}" \
	"$T_TMP/k/0000000100000000000000F0" &
kpid=$!
for i in $(seq 1 100); do
	grep -q "killtest/wal/0000000100000000/0000000100000000000000F0?partNumber=1" \
		"$T_TMP/s3/proxy.log" && break
	sleep 0.1
done
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
check "the push was killed after sending a part" grep -q \
	"killtest/wal/0000000100000000/0000000100000000000000F0?partNumber=1" \
	"$T_TMP/s3/proxy.log"
check_exit "no segment is visible under its name" 1 \
	"$BK_BIN/dbops" wal-fetch "${kopts[@]}" 0000000100000000000000F0 \
	"$T_TMP/k/out"
check "the next try succeeds" "$BK_BIN/dbops" wal-push "${kopts[@]}" \
	"$T_TMP/k/0000000100000000000000F0"
check "and the segment reads back whole" "$BK_BIN/dbops" wal-fetch \
	"${kopts[@]}" 0000000100000000000000F0 "$T_TMP/k/out"
check "identical" cmp -s "$T_TMP/k/out" "$T_TMP/k/0000000100000000000000F0"

# ---- archiving broken for longer than the RPO ----------------------------------------
dead=$(bk_free_port $((pport + 1)))
write_spec "$dead"
check "apply an endpoint nothing listens on" "$DBOPS" apply --dir "$spec" \
	--no-color --auto-approve
keep
psql_q "INSERT INTO w VALUES (26)"
psql_q "SELECT pg_switch_wal()" >/dev/null
for i in $(seq 1 100); do
	[ "$(psql_q "SELECT failed_count > 0 AND now() - last_archived_time > interval '4 seconds' FROM pg_stat_archiver")" = t ] &&
		break
	sleep 0.2
done
check_exit "status is degraded" 2 "$DBOPS" status --dir "$spec" --no-color
keep
check_contains "the RPO objective is missed" "$T_OUT" \
	"WARNING:  the recovery point objective is missed"
write_spec
check "apply the right endpoint" "$DBOPS" apply --dir "$spec" --no-color \
	--auto-approve
keep
check "archiving catches up" bk_wait_archived
check_exit "status is healthy again" 0 "$DBOPS" status --dir "$spec" \
	--no-color
keep

# ---- no secret anywhere ------------------------------------------------------------------
cat "$BK_PG"/*.log "$T_TMP/s3/proxy.log" >>"$all_out" 2>/dev/null
check "the outputs and logs were collected" test -s "$all_out"
check_not_contains "the S3 secret appears nowhere" "$(cat "$all_out")" \
	"$DBOPS_SECRET_S3_SECRET"
check_not_contains "the encryption key appears nowhere" "$(cat "$all_out")" \
	"$DBOPS_SECRET_BACKUP_KEY"
