# bench/lib.sh - helpers shared by the benchmark scripts under bench/ (source it; bash).

# stop_pid PID: stops our own child by its PID: TERM, then KILL after 5 s.
stop_pid() {
  local p=$1 i
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
  local t=$1 i; shift
  for i in $(seq $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# field NAME FILE: the number after the first NAME= in FILE.
field() { grep -o "$1=[0-9.]*" "$2" | head -1 | cut -d= -f2; }

# cpu_ticks PID: user + system clock ticks of process PID, all its threads (0 once it is gone).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
