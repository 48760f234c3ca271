# shellcheck shell=bash disable=SC2034  # (sets variables for the scripts that source it)
# Sourced by backup.sh and restore.sh: the settings they need (DATABASE_URL, STORAGE_DIR)
# from --env FILE or the environment, and the database URL turned into what pg_dump,
# pg_restore or sqlite3 take.

die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

say() {
  echo "${0##*/}: $*" >&2
}

# dotenv_get FILE NAME: print the value NAME has in a .env file (the last one wins, names
# are case-insensitive like the bot's); status 1 when the file does not set it. Handles
# `export`, quotes and ` # comments`; never runs anything from the file.
dotenv_get() {
  local file=$1 name=$2 line value found="" seen=0
  local assign='^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$'
  local double='^"(.*)"[[:space:]]*(#.*)?$' single="^'(.*)'[[:space:]]*(#.*)?$"
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ $line =~ $assign ]] || continue
    [[ ${BASH_REMATCH[2]^^} == "$name" ]] || continue
    value=${BASH_REMATCH[3]}
    if [[ $value =~ $double || $value =~ $single ]]; then
      value=${BASH_REMATCH[1]}
    else
      value=${value%%[[:space:]]#*}
      value=${value%"${value##*[![:space:]]}"}
    fi
    found=$value
    seen=1
  done <"$file"
  ((seen)) || return 1
  printf '%s\n' "$found"
}

# load_settings ENV_FILE: set DATABASE_URL and STORAGE_DIR (absolute). Values in ENV_FILE
# (when given) win over the environment; unset or empty ones get the bot's defaults.
# Relative paths are relative to ENV_FILE's folder (the bot's working directory, where it
# reads .env), else to the current folder.
load_settings() {
  local env_file=$1 value base
  DATABASE_URL=${DATABASE_URL:-}
  STORAGE_DIR=${STORAGE_DIR:-}
  if [[ -n $env_file ]]; then
    [[ -f $env_file && -r $env_file ]] || die "cannot read $env_file"
    if value=$(dotenv_get "$env_file" DATABASE_URL); then DATABASE_URL=$value; fi
    if value=$(dotenv_get "$env_file" STORAGE_DIR); then STORAGE_DIR=$value; fi
    base=$(cd "$(dirname "$env_file")" && pwd)
  else
    base=$PWD
  fi
  DATABASE_URL=${DATABASE_URL:-sqlite+aiosqlite:///data/chatbot.db}
  STORAGE_DIR=${STORAGE_DIR:-data/files}
  STORAGE_DIR=${STORAGE_DIR%/}
  [[ $STORAGE_DIR == /* ]] || STORAGE_DIR=$base/$STORAGE_DIR
  BASE_DIR=$base
}

# parse_database_url: from DATABASE_URL set
#   DB_KIND      postgresql | sqlite
#   DB_SHOWN     the URL without its password, for messages
#   PG_URL       a libpq URL without the password (postgresql)
#   DB_PASSWORD  the decoded password, handed to pg_* as PGPASSWORD, never on a command line
#   SQLITE_PATH  the absolute database file (sqlite)
parse_database_url() {
  local url=$DATABASE_URL rest query="" userinfo="" hostpart user password
  DB_PASSWORD=""
  case $url in
    postgresql+asyncpg://* | postgresql://* | postgres://*)
      DB_KIND=postgresql
      rest=${url#*://}
      if [[ $rest == *\?* ]]; then
        query=${rest#*\?}
        rest=${rest%%\?*}
      fi
      hostpart=$rest
      if [[ $rest =~ ^([^:/@]*)(:([^@]*))?@(.*)$ ]]; then
        user=${BASH_REMATCH[1]}
        password=${BASH_REMATCH[3]}
        hostpart=${BASH_REMATCH[4]}
        userinfo="$user@"
        if [[ -n $password ]]; then
          # Percent-decoded, as SQLAlchemy does.
          password=${password//\\/\\\\}
          printf -v DB_PASSWORD '%b' "${password//%/\\x}"
        fi
      fi
      # asyncpg's ssl=<mode> is libpq's sslmode=<mode>; libpq refuses unknown parameters.
      query=$(printf '%s' "$query" | sed -E 's/(^|&)ssl=/\1sslmode=/')
      PG_URL="postgresql://$userinfo$hostpart${query:+?$query}"
      DB_SHOWN=$PG_URL
      ;;
    sqlite+aiosqlite://* | sqlite://*)
      DB_KIND=sqlite
      rest=${url#*://}
      rest=${rest%%\?*}
      [[ $rest == /?* ]] || die "cannot read the file of DATABASE_URL $url"
      SQLITE_PATH=${rest#/}
      [[ $SQLITE_PATH != ":memory:" ]] || die "DATABASE_URL is an in-memory database"
      [[ $SQLITE_PATH == /* ]] || SQLITE_PATH=$BASE_DIR/$SQLITE_PATH
      DB_SHOWN="sqlite $SQLITE_PATH"
      ;;
    *)
      die "DATABASE_URL must be postgresql+asyncpg://... or sqlite+aiosqlite:///...; got ${url%%://*}://..."
      ;;
  esac
}

# unused_path PATH: PATH, or PATH-1, PATH-2 ... whichever does not exist yet.
unused_path() {
  local candidate=$1 n=1
  while [[ -e $candidate || -L $candidate ]]; do
    candidate=$1-$n
    n=$((n + 1))
  done
  printf '%s\n' "$candidate"
}

# pg TOOL ARGS...: run a PostgreSQL client with the password in its environment only.
pg() {
  if [[ -n $DB_PASSWORD ]]; then
    PGPASSWORD=$DB_PASSWORD PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-15} "$@"
  else
    PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-15} "$@"
  fi
}
