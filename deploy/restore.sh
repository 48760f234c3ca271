#!/usr/bin/env bash
# Restore a backup made by backup.sh into the database and STORAGE_DIR of the settings.
#
#   deploy/restore.sh [--env FILE] [--yes] BACKUP_FOLDER
#
# 1. Verifies SHA256SUMS; a damaged or altered backup is refused.
# 2. Without --yes: prints what it would overwrite and exits (status 2), changing nothing.
# 3. With --yes:
#    PostgreSQL: pg_restore --clean --if-exists --no-owner --single-transaction into the
#      database (all or nothing; every table of the backup is dropped and re-created);
#    SQLite: the database file (and its -wal/-shm) is moved aside to
#      <file>.before-restore-<time> and the backup's copy put in its place;
#    STORAGE_DIR: when it is not empty, moved aside to <folder>.before-restore-<time>; the
#      backup is unpacked next to it and renamed into place.
# Stop the bot (every worker) first. Afterwards run `chatbot db upgrade` (harmless when the
# schema is current), then start the bot.
#
# Settings: as backup.sh (DATABASE_URL and STORAGE_DIR from --env FILE, which wins, or the
# environment).
set -euo pipefail
umask 077

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/backup-common.sh
source "$here/backup-common.sh"

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

env_file=""
backup=""
yes=0
while (($#)); do
  case $1 in
    --env) (($# >= 2)) || die "--env needs a file"; env_file=$2; shift 2 ;;
    --env=*) env_file=${1#--env=}; shift ;;
    --yes) yes=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $backup ]] || die "one backup folder only"; backup=$1; shift ;;
  esac
done
[[ -n $backup ]] || die "which backup? (see --help)"
[[ -d $backup ]] || die "$backup is not a folder"
backup=$(cd "$backup" && pwd)

# ---- 1. the backup is whole and unaltered ------------------------------------------------
sums=$backup/SHA256SUMS
[[ -f $sums ]] || die "$backup has no SHA256SUMS: not a backup of backup.sh"
db_file=""
has_storage=0
sum_line='^[0-9a-f]{64} [ *]([A-Za-z0-9._-]+)$'
while IFS= read -r line || [[ -n $line ]]; do
  [[ $line =~ $sum_line ]] || die "SHA256SUMS has a line it should not: refusing"
  case ${BASH_REMATCH[1]} in
    database.pgdump | database.sqlite3)
      [[ -z $db_file ]] || die "SHA256SUMS names two databases: refusing"
      db_file=${BASH_REMATCH[1]}
      ;;
    storage.tar.gz) has_storage=1 ;;
  esac
done <"$sums"
[[ -n $db_file ]] || die "SHA256SUMS names no database file: refusing"
((has_storage)) || die "SHA256SUMS names no storage.tar.gz: refusing"
if ! (cd "$backup" && sha256sum --check --strict --quiet SHA256SUMS) >&2; then
  die "checksums do not match: the backup is damaged or was altered; refusing"
fi
say "checksums verified: $backup"

# ---- 2. what it would overwrite ------------------------------------------------------------
load_settings "$env_file"
parse_database_url
case $db_file:$DB_KIND in
  database.pgdump:postgresql | database.sqlite3:sqlite) ;;
  *) die "the backup holds $db_file but DATABASE_URL is $DB_KIND: refusing" ;;
esac

stamp=$(date -u +%Y%m%dT%H%M%SZ)
aside=$(unused_path "$STORAGE_DIR.before-restore-$stamp")
storage_busy=0
if [[ -e $STORAGE_DIR || -L $STORAGE_DIR ]]; then
  [[ -d $STORAGE_DIR ]] || die "STORAGE_DIR $STORAGE_DIR is not a folder"
  [[ -z $(ls -A -- "$STORAGE_DIR") ]] || storage_busy=1
fi
parent=$(dirname -- "$STORAGE_DIR")
[[ $DB_KIND != sqlite ]] || db_aside=$(unused_path "$SQLITE_PATH.before-restore-$stamp")
if ((storage_busy)) && mountpoint -q -- "$STORAGE_DIR" 2>/dev/null; then
  die "STORAGE_DIR $STORAGE_DIR is a mount point and not empty: it cannot be moved aside;" \
    "empty it (or mount its parent instead) and run again"
fi

{
  echo "Restoring $backup"
  [[ -f $backup/info.txt ]] && sed 's/^/  backup /' "$backup/info.txt"
  echo "would overwrite:"
  if [[ $DB_KIND == postgresql ]]; then
    echo "  database $DB_SHOWN: every table of the backup is dropped and re-created"
  elif [[ -e $SQLITE_PATH ]]; then
    echo "  database $SQLITE_PATH: moved aside to $db_aside, then copied from the backup"
  else
    echo "  database $SQLITE_PATH (absent): copied from the backup"
  fi
  if ((storage_busy)); then
    echo "  storage folder $STORAGE_DIR: moved aside to $aside, then unpacked from the backup"
  else
    echo "  storage folder $STORAGE_DIR (empty or absent): unpacked from the backup"
  fi
  echo "Stop the bot (every worker) first."
} >&2
if ((!yes)); then
  say "nothing changed; run again with --yes to restore"
  exit 2
fi

mkdir -p -- "$parent"
[[ -w $parent ]] || die "cannot write in $parent"

# ---- 3. unpack the storage folder next to its place (nothing is changed yet) ------------------
unpacked=$(unused_path "$STORAGE_DIR.restoring-$stamp")
mkdir -- "$unpacked"
trap 'rm -rf -- "$unpacked"' EXIT
tar --extract --gzip --numeric-owner --file="$backup/storage.tar.gz" --directory="$unpacked"

# ---- 4. the database -------------------------------------------------------------------------
if [[ $DB_KIND == postgresql ]]; then
  say "restoring the database into $DB_SHOWN"
  pg pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
    --exit-on-error --dbname="$PG_URL" "$backup/$db_file"
else
  say "restoring the database to $SQLITE_PATH"
  mkdir -p -- "$(dirname -- "$SQLITE_PATH")"
  incoming=$(unused_path "$SQLITE_PATH.restoring-$stamp")
  cp -- "$backup/$db_file" "$incoming"
  chmod 0600 -- "$incoming"
  for suffix in "" -wal -shm; do
    if [[ -e $SQLITE_PATH$suffix ]]; then
      mv -T -- "$SQLITE_PATH$suffix" "$db_aside$suffix"
    fi
  done
  mv -T -- "$incoming" "$SQLITE_PATH"
  [[ ! -e $db_aside ]] || say "the former database file is at $db_aside"
fi

# ---- 5. the storage folder into place ----------------------------------------------------------
if ((storage_busy)); then
  mv -T -- "$STORAGE_DIR" "$aside"
  say "the former storage folder is at $aside"
elif [[ -d $STORAGE_DIR ]]; then
  rmdir -- "$STORAGE_DIR"
fi
mv -T -- "$unpacked" "$STORAGE_DIR"
chmod 0700 -- "$STORAGE_DIR"
trap - EXIT
say "restored. Now run \`chatbot db upgrade\`, then start the bot."
