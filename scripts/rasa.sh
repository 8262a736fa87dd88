#!/usr/bin/env bash
# Build, train and run the real Rasa Open Source 3.6.21 server in its own virtualenv.
#
# Rasa 3.6 cannot share the main venv (it pins sanic 21, pydantic 1, tensorflow 2.12, ...), so it
# lives in a venv keyed by the sha256 of nlu/rasa.lock.txt under the cache dir, where CI on the
# same machine reuses it. See docs/rasa.md for usage, timings and the reasoning behind the lock.
#
# Usage: scripts/rasa.sh {venv|validate|train|serve|serve-bg|stop|status|lock} [extra rasa args]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK_FILE="$REPO_ROOT/nlu/rasa.lock.txt"
PROJECT_DIR="${RASA_PROJECT_DIR:-$REPO_ROOT/nlu/rasa}"
CACHE_DIR="${RASA_VENV_CACHE:-$HOME/.cache/atelier}"
BASE_PYTHON="${RASA_PYTHON:-python3}"
RASA_PORT="${RASA_PORT:-5005}"
# Loopback only: the server is reached by Django/the bot on this machine, never from outside.
RASA_HOST="${RASA_HOST:-127.0.0.1}"
RASA_START_TIMEOUT="${RASA_START_TIMEOUT:-420}"
RUN_DIR="$CACHE_DIR/run"
PID_FILE="$RUN_DIR/rasa-server-$RASA_PORT.pid"
SERVER_LOG="$RUN_DIR/rasa-server-$RASA_PORT.log"

# Nothing may phone home or download at run time: telemetry off, the sentry key blanked at build
# time (see build_venv), hubs offline, and every cache Rasa/TF/matplotlib writes kept under CACHE_DIR.
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=2
export CUDA_VISIBLE_DEVICES=-1
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TFHUB_CACHE_DIR="$CACHE_DIR/tfhub"
export MPLCONFIGDIR="$CACHE_DIR/matplotlib"
export RASA_CACHE_DIRECTORY="$CACHE_DIR/rasa-train-cache"
export PIP_NO_INPUT=1

log() { printf '[rasa.sh] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

sha256_of_file() { sha256sum "$1" | cut -d' ' -f1; }

lock_hash() {
	[[ -f "$LOCK_FILE" ]] || die "lock file $LOCK_FILE is missing (scripts/rasa.sh lock regenerates it)"
	sha256_of_file "$LOCK_FILE"
}

venv_path() { printf '%s/rasa-venv-%s' "$CACHE_DIR" "$(lock_hash | cut -c1-12)"; }

# --- venv ----------------------------------------------------------------------------------------

remove_abandoned_builds() {
	# A build dir carries its builder's pid; one whose builder is gone was interrupted.
	local dir pid
	for dir in "$CACHE_DIR"/.rasa-venv-*.build.*; do
		[[ -d "$dir" ]] || continue
		pid="${dir##*.build.}"
		if ! kill -0 "$pid" 2>/dev/null; then
			log "removing abandoned build $dir"
			rm -rf -- "$dir"
		fi
	done
}

show_install_progress() {
	# pip prints one Collecting/Processing line per pinned package: turn them into [n/total].
	local total="$1"
	awk -v total="$total" '
		/is ignored: it is neither a file nor a directory/ { next }
		/^(Collecting|Processing) / { n++; sub(/ \(from -r .*$/, ""); printf "[rasa.sh] [%d/%d] %s\n", n, total, $0; fflush(); next }
		/Building wheel for|^Installing collected packages/ {
			if ($0 ~ /^Installing/) { print "[rasa.sh] unpacking " total " packages (~2.7 GB, takes a few minutes)..." }
			else { print "[rasa.sh] " $0 }
			fflush(); next
		}
		/^(ERROR|error)/ { print; fflush() }
	' >&2
}

build_venv() {
	local final="$1" key build_dir total started python_version
	key="$(basename "$final")"
	mkdir -p "$CACHE_DIR/logs"
	remove_abandoned_builds
	python_version="$("$BASE_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" ||
		die "$BASE_PYTHON is not runnable (set RASA_PYTHON)"
	case "$python_version" in
	3.10 | 3.11) ;;
	*) log "warning: the lock is validated on Python 3.11 (and resolved for 3.10); $BASE_PYTHON is $python_version" ;;
	esac

	build_dir="$CACHE_DIR/.$key.build.$$"
	local build_log="$CACHE_DIR/logs/$key.log"
	# An interrupted build must never leave a venv at the final path: everything happens in
	# build_dir, which is renamed into place only after the smoke test passed.
	trap 'rm -rf -- "'"$build_dir"'"' EXIT
	trap 'exit 130' INT TERM
	started=$SECONDS
	total="$(grep -cE '^[A-Za-z0-9_.-]+==' "$LOCK_FILE")"
	log "building $final with Python $python_version ($total pinned packages; log: $build_log)"
	"$BASE_PYTHON" -m venv --prompt "$key" "$build_dir"
	# --no-deps/--ignore-requires-python: the lock is a complete, pre-resolved set for Python 3.10
	# that also runs on 3.11; letting pip re-resolve would reject rasa's python_requires (<3.11).
	"$build_dir/bin/python" -m pip install --no-deps --ignore-requires-python --progress-bar off \
		-r "$LOCK_FILE" 2>&1 | tee "$build_log" | show_install_progress "$total" ||
		{
			tail -n 40 "$build_log" >&2
			die "pip install failed (full log: $build_log)"
		}

	# The wheel ships a sentry key that makes any crash report to sentry.io whatever
	# RASA_TELEMETRY_ENABLED says; without the file Rasa behaves like a source checkout (no reporting).
	local keys_file
	for keys_file in "$build_dir"/lib/python3.*/site-packages/rasa/keys; do
		[[ -f "$keys_file" ]] && printf '{}\n' >"$keys_file"
	done

	# Scripts in bin/ (rasa, activate, ...) carry the venv's absolute path: point them at the
	# final location before the rename. We always call `python -m rasa` ourselves anyway.
	grep -rIl --null -F -- "$build_dir" "$build_dir/bin" "$build_dir/pyvenv.cfg" |
		xargs -0 -r sed -i "s#$build_dir#$final#g"

	log "smoke test: rasa --version"
	(cd /tmp && "$build_dir/bin/python" -m rasa --version 2>/dev/null) | sed 's/^/[rasa.sh]   /' >&2 ||
		die "rasa --version failed in the freshly built venv (log: $build_log)"
	printf 'lock_sha256=%s\npython=%s\nbuilt_at=%s\nbuild_seconds=%s\n' \
		"$(lock_hash)" "$python_version" "$(date -u +%FT%TZ)" "$((SECONDS - started))" \
		>"$build_dir/atelier-build.txt"

	mv -T -- "$build_dir" "$final" || die "could not move $build_dir to $final"
	trap - INT TERM EXIT
	log "venv ready in $((SECONDS - started))s ($(du -sh "$final" | cut -f1))"
}

ensure_venv() {
	local venv lock_fd
	venv="$(venv_path)"
	if [[ ! -x "$venv/bin/python" ]]; then
		# Two commands started at once (validate + train in CI) must not build 2.7 GB twice: the
		# second waits for the first, then finds the venv in place.
		mkdir -p "$CACHE_DIR"
		exec {lock_fd}>"$CACHE_DIR/.$(basename "$venv").lock"
		if ! flock --nonblock "$lock_fd"; then
			log "another process is building $venv; waiting for it"
			flock "$lock_fd"
		fi
		[[ -x "$venv/bin/python" ]] || build_venv "$venv"
		exec {lock_fd}>&-
	fi
	log "using $venv"
	RASA_PY="$venv/bin/python"
	VENV_DIR="$venv"
}

# --- project / training --------------------------------------------------------------------------

require_project() {
	[[ -f "$PROJECT_DIR/config.yml" ]] || die "no Rasa project at $PROJECT_DIR (config.yml missing)"
}

domain_arg() {
	# Rasa accepts a domain file or a directory of domain files.
	if [[ -d "$PROJECT_DIR/domain" ]]; then printf 'domain'; else printf 'domain.yml'; fi
}

training_manifest() {
	# One line per training file (relative path + content hash), plus the lock hash so that a Rasa
	# upgrade retrains instead of serving a model packed by another version.
	(
		cd "$PROJECT_DIR"
		{
			printf '%s\n' config.yml
			find "$(domain_arg)" data -type f 2>/dev/null
		} | LC_ALL=C sort | while IFS= read -r file; do
			printf '%s  %s\n' "$(sha256_of_file "$file")" "$file"
		done
	)
	printf '%s  %s\n' "$(lock_hash)" "nlu/rasa.lock.txt"
}

training_hash() { training_manifest | sha256sum | cut -d' ' -f1; }

model_dir_for() { printf '%s/rasa-models/%s' "$CACHE_DIR" "$(printf '%s' "$1" | cut -c1-12)"; }

publish_model_to_project() {
	# nlu/rasa/models/ is git-ignored; a copy (not a symlink) keeps it usable if the cache is wiped.
	local model="$1" hash="$2" target="$PROJECT_DIR/models"
	mkdir -p "$target"
	if [[ "$(cat "$target/atelier.sha256" 2>/dev/null)" != "$hash" || ! -f "$target/atelier.tar.gz" ]]; then
		cp -- "$model" "$target/.atelier.tar.gz.tmp"
		mv -f -- "$target/.atelier.tar.gz.tmp" "$target/atelier.tar.gz"
		printf '%s\n' "$hash" >"$target/atelier.sha256"
	fi
}

prune_old_models() {
	# Each data edit leaves a ~37 MB model keyed by its hash; keep the newest few (branches switch back).
	local keep="${RASA_KEEP_MODELS:-3}"
	find "$CACHE_DIR/rasa-models" -mindepth 1 -maxdepth 1 -type d ! -name '*.build.*' -printf '%T@ %p\n' |
		sort -rn | tail -n "+$((keep + 1))" | cut -d' ' -f2- | while IFS= read -r old_model_dir; do
		log "pruning old model $old_model_dir"
		rm -rf -- "$old_model_dir"
	done
}

cmd_train() {
	local force=0
	if [[ "${1:-}" == "--force" ]]; then
		force=1
		shift
	fi
	require_project
	ensure_venv
	local hash model_dir started
	hash="$(training_hash)"
	model_dir="$(model_dir_for "$hash")"
	if ((force == 0)) && [[ -f "$model_dir/model.tar.gz" && "$(head -n1 "$model_dir/training.sha256" 2>/dev/null)" == "$hash" ]]; then
		log "training files unchanged (sha256 ${hash:0:12}); reusing $model_dir/model.tar.gz"
	else
		local build_dir="$model_dir.build.$$"
		mkdir -p "$build_dir"
		trap 'rm -rf -- "'"$build_dir"'"' EXIT
		log "training (sha256 ${hash:0:12}) into $model_dir"
		started=$SECONDS
		(cd "$PROJECT_DIR" && "$RASA_PY" -m rasa train --config config.yml --domain "$(domain_arg)" \
			--data data --out "$build_dir" --fixed-model-name model "$@") >&2 # stdout: the model path only
		[[ -f "$build_dir/model.tar.gz" ]] || die "rasa train produced no model"
		{
			printf '%s\n' "$hash"
			training_manifest
		} >"$build_dir/training.sha256"
		printf 'train_seconds=%s\ntrained_at=%s\n' "$((SECONDS - started))" "$(date -u +%FT%TZ)" \
			>"$build_dir/atelier-train.txt"
		rm -rf -- "$model_dir"
		mv -T -- "$build_dir" "$model_dir"
		trap - EXIT
		log "trained in $((SECONDS - started))s"
		prune_old_models
		if [[ "$(training_hash)" != "$hash" ]]; then
			log "warning: the training files changed while training (a concurrent edit, or Rasa autoconfig" \
				"filling an empty pipeline/policies into config.yml); the next train will run again"
		fi
	fi
	publish_model_to_project "$model_dir/model.tar.gz" "$hash"
	MODEL_PATH="$model_dir/model.tar.gz"
	printf '%s\n' "$MODEL_PATH"
}

# --- server --------------------------------------------------------------------------------------

server_args() {
	SERVER_ARGS=(run --enable-api --interface "$RASA_HOST" --port "$RASA_PORT"
		--endpoints endpoints.yml --credentials credentials.yml --model "$MODEL_PATH")
	if [[ -n "${RASA_AUTH_TOKEN:-}" ]]; then SERVER_ARGS+=(--auth-token "$RASA_AUTH_TOKEN"); fi
}

status_url() {
	local url="http://$RASA_HOST:$RASA_PORT/status"
	if [[ -n "${RASA_AUTH_TOKEN:-}" ]]; then url="$url?token=$RASA_AUTH_TOKEN"; fi
	printf '%s' "$url"
}

server_is_ready() {
	# /status answers 200 with the loaded model's fingerprint only once the agent is ready.
	curl --silent --fail --max-time 3 "$(status_url)" 2>/dev/null | grep -q '"model_file"'
}

running_pid() {
	local pid
	pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

cmd_serve() {
	cmd_train >/dev/null
	server_args
	cd "$PROJECT_DIR"
	log "serving $MODEL_PATH on http://$RASA_HOST:$RASA_PORT (foreground)"
	exec "$RASA_PY" -m rasa "${SERVER_ARGS[@]}" "$@"
}

cmd_serve_bg() {
	local pid
	if pid="$(running_pid)"; then
		log "already running (pid $pid)"
	else
		if server_is_ready; then die "port $RASA_PORT already serves a Rasa we did not start"; fi
		cmd_train >/dev/null
		server_args
		mkdir -p "$RUN_DIR"
		(
			cd "$PROJECT_DIR"
			# Own session: survives this script and `stop` can end the whole process group.
			exec setsid "$RASA_PY" -m rasa "${SERVER_ARGS[@]}" "$@"
		) >"$SERVER_LOG" 2>&1 </dev/null &
		pid=$!
		printf '%s\n' "$pid" >"$PID_FILE"
		log "started pid $pid (log: $SERVER_LOG); waiting up to ${RASA_START_TIMEOUT}s for /status"
	fi
	local started=$SECONDS
	until server_is_ready; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 40 "$SERVER_LOG" >&2
			rm -f "$PID_FILE"
			die "server exited during start-up (log: $SERVER_LOG)"
		fi
		if ((SECONDS - started >= RASA_START_TIMEOUT)); then
			tail -n 40 "$SERVER_LOG" >&2
			die "server not ready after ${RASA_START_TIMEOUT}s (still running as pid $pid; scripts/rasa.sh stop)"
		fi
		sleep 1
	done
	log "ready on http://$RASA_HOST:$RASA_PORT after $((SECONDS - started))s (pid $pid)"
}

cmd_stop() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PID_FILE"
		log "no server running on port $RASA_PORT"
		return 0
	fi
	log "stopping pid $pid"
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	local waited=0
	while kill -0 "$pid" 2>/dev/null && ((waited < 30)); do
		sleep 1
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "still alive after 30s; sending KILL"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PID_FILE"
	log "stopped"
}

cmd_status() {
	local pid
	if pid="$(running_pid)" && server_is_ready; then
		log "running (pid $pid) on http://$RASA_HOST:$RASA_PORT"
	elif pid="$(running_pid)"; then
		log "process $pid alive but /status not ready"
		return 1
	else
		log "not running"
		return 1
	fi
}

# --- lock ----------------------------------------------------------------------------------------

cmd_lock() {
	# Regenerates nlu/rasa.lock.txt. uv lives in a throwaway venv, never in the project's venvs.
	local uv_venv="${TMPDIR:-/tmp}/atelier-uvenv" resolved
	if [[ ! -x "$uv_venv/bin/uv" ]]; then
		"$BASE_PYTHON" -m venv "$uv_venv"
		"$uv_venv/bin/python" -m pip install --quiet uv
	fi
	resolved="$(mktemp)"
	printf 'rasa==3.6.21\n' | "$uv_venv/bin/uv" pip compile --quiet --no-header \
		--python-version 3.10 --python-platform x86_64-manylinux_2_28 - -o "$resolved"
	grep -q '^matplotlib==3.5.3$' "$resolved" || die "expected matplotlib==3.5.3 in the resolution; review the edit"
	{
		cat <<EOF
# Rasa Open Source 3.6.21 and its complete dependency set, installed into its own venv by
# scripts/rasa.sh venv (pip install --no-deps --ignore-requires-python -r nlu/rasa.lock.txt).
#
# Generated by \`scripts/rasa.sh lock\` with $("$uv_venv/bin/uv" --version) on $(date -u +%F):
#   echo 'rasa==3.6.21' | uv pip compile --no-header --python-version 3.10 \\
#       --python-platform x86_64-manylinux_2_28 -
# Rasa 3.6 declares python_requires <3.11, so the set is resolved for Python 3.10; it installs and
# runs on this machine's Python 3.11 with the following hand edit:
#   matplotlib==3.5.3 -> matplotlib==3.6.3
# No 3.5.x release has a cp311 wheel (3.5.3 predates Python 3.11) and building it from sdist is
# not wanted; 3.6.3 is the nearest release that has one. It is outside rasa's declared
# matplotlib>=3.1,<3.6, which --no-deps does not enforce; only rasa/utils/plotting.py (the
# confusion-matrix/histogram plots of \`rasa test\`) imports it, and those plots work with 3.6.3.
# Packages without a cp311/py3 wheel at their pin, built from sdist at install time (they build
# on 3.11, multidict's C extension needs gcc): docopt, mattermostwrapper, multidict, randomname.
# Validated: installs and \`rasa --version\` / train / run work on CPython 3.11.7, x86_64 Linux.
#
EOF
		sed 's/^matplotlib==3\.5\.3$/matplotlib==3.6.3/' "$resolved"
	} >"$LOCK_FILE"
	rm -f "$resolved"
	log "wrote $LOCK_FILE (venv key $(lock_hash | cut -c1-12))"
}

# --- main ----------------------------------------------------------------------------------------

main() {
	local command="${1:-}"
	shift || true
	case "$command" in
	venv)
		ensure_venv
		printf '%s\n' "$VENV_DIR"
		;;
	validate)
		require_project
		ensure_venv
		cd "$PROJECT_DIR"
		"$RASA_PY" -m rasa data validate --config config.yml --domain "$(domain_arg)" --data data "$@"
		;;
	train) cmd_train "$@" ;;
	serve) cmd_serve "$@" ;;
	serve-bg) cmd_serve_bg "$@" ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	lock) cmd_lock ;;
	*)
		sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
