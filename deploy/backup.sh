#!/usr/bin/env bash
# Back up the bot: its database and STORAGE_DIR (documents and archives: personal data).
#
#   deploy/backup.sh [--env FILE] [DEST]
#
# Writes one new folder DEST/chatbot-<UTC time>/ (DEST defaults to ./backups) holding
#   database.pgdump    pg_dump --format=custom     (PostgreSQL DATABASE_URL)
#   database.sqlite3   an online copy (.backup)    (SQLite DATABASE_URL)
#   storage.tar.gz     STORAGE_DIR
#   info.txt           when, what from
#   SHA256SUMS         checked by restore.sh
# Folder 0700, files 0600. It appears only when complete (written as .partial, then renamed).
# Prints the folder's path on stdout. The bot may keep running.
#
# Settings: DATABASE_URL and STORAGE_DIR from --env FILE (which wins) or the environment,
# else the bot's defaults; relative paths are relative to FILE's folder (else the current
# one). DATABASE_URL may be the bot's postgresql+asyncpg:// form.
# SQLITE3 / PYTHON name the sqlite3 and python3 commands (python's sqlite3 module is used
# when sqlite3 is missing).
set -euo pipefail
umask 077

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/backup-common.sh
source "$here/backup-common.sh"

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

env_file=""
dest=""
while (($#)); do
  case $1 in
    --env) (($# >= 2)) || die "--env needs a file"; env_file=$2; shift 2 ;;
    --env=*) env_file=${1#--env=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $dest ]] || die "one destination folder only"; dest=$1; shift ;;
  esac
done
dest=${dest:-backups}

load_settings "$env_file"
parse_database_url
[[ -d $STORAGE_DIR ]] || die "STORAGE_DIR $STORAGE_DIR is not a folder"

mkdir -p -- "$dest"
dest=$(cd "$dest" && pwd)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
final=$(unused_path "$dest/chatbot-$stamp")
work=$final.partial
mkdir -- "$work"
trap 'rm -rf -- "$work"' EXIT

case $DB_KIND in
  postgresql)
    say "dumping $DB_SHOWN"
    pg pg_dump --format=custom --file="$work/database.pgdump" --dbname="$PG_URL"
    db_file=database.pgdump
    ;;
  sqlite)
    [[ -f $SQLITE_PATH ]] || die "no database file at $SQLITE_PATH"
    sqlite3_cmd=${SQLITE3:-sqlite3}
    if command -v "$sqlite3_cmd" >/dev/null 2>&1; then
      say "copying $DB_SHOWN (sqlite3 .backup)"
      # Run in the backup folder so the target needs no quoting inside the dot command.
      (cd "$work" && "$sqlite3_cmd" -bail -cmd ".timeout 30000" "$SQLITE_PATH" ".backup database.sqlite3")
    else
      say "copying $DB_SHOWN (python's sqlite3 backup API; no sqlite3 command)"
      "${PYTHON:-python3}" - "$SQLITE_PATH" "$work/database.sqlite3" <<'PY'
import sqlite3
import sys

source = sqlite3.connect(sys.argv[1], timeout=30)
target = sqlite3.connect(sys.argv[2])
try:
    source.backup(target)
finally:
    target.close()
    source.close()
PY
    fi
    db_file=database.sqlite3
    ;;
esac

say "packing $STORAGE_DIR"
# Status 1 is GNU tar's "a file changed while being read" (an upload arriving): kept, noted.
# The sealing secret stays out: a backup must not carry the key to the rows it holds sealed
# (after a restore, what was waiting at backup time is given up; SEAL_SECRET lives in .env).
status=0
tar --create --gzip --numeric-owner --file="$work/storage.tar.gz" \
  --exclude=./.seal-secret --directory="$STORAGE_DIR" . || status=$?
if ((status == 1)); then
  say "warning: files changed while they were packed; the backup holds what was read"
elif ((status != 0)); then
  die "tar failed ($status)"
fi

{
  echo "created: $stamp"
  echo "database: $DB_SHOWN"
  echo "storage: $STORAGE_DIR"
  echo "files: $db_file storage.tar.gz"
} >"$work/info.txt"

(cd "$work" && sha256sum -- "$db_file" storage.tar.gz info.txt >SHA256SUMS)
chmod 0600 -- "$work"/*
chmod 0700 -- "$work"
sync -- "$work"/* 2>/dev/null || true
mv -T -- "$work" "$final"
trap - EXIT
say "done: $final"
echo "$final"
