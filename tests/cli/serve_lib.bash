# Sourced by the server scripts of tests/cli (not a test itself): the golden tiny model as "tiny" in
# a store, and `smolvlm serve` started on a free port.
#   needs: SMOLVLM, G (golden/tiny512), WORK, a fail() function; exports OLLAMA_MODELS.

# The store $WORK/models holding "tiny" (Q8_0 text + Q8_0 projector), made in this process.
tiny_store() {
  export OLLAMA_MODELS=$WORK/models SMOLVLM_NO_AUTOSTART=1
  printf 'FROM %s\nFROM %s\n' "$G/gguf/text-Q8_0.gguf" "$G/gguf/mmproj-Q8_0.gguf" >"$WORK/Modelfile"
  SMOLVLM_HOST=127.0.0.1:1 "$SMOLVLM" create tiny -f "$WORK/Modelfile" >/dev/null 2>&1 || fail "create tiny"
}

# serve LOG [ARGS...]: `smolvlm serve` on a free loopback port, logging to $WORK/LOG; sets PID and
# URL (http://127.0.0.1:PORT) once it listens, and adds PID to PIDS when that array exists.
serve() {
  local log=$WORK/$1
  shift
  "$SMOLVLM" serve --host 127.0.0.1:0 "$@" >"$log" 2>&1 &
  PID=$!
  # (declare -p, not ${PIDS+set}: an empty array reads as unset, so the first servers were never killed)
  if declare -p PIDS >/dev/null 2>&1; then PIDS+=("$PID"); fi
  URL=
  for _ in $(seq 200); do
    URL=$(sed -n 's/^smolvlm serve: listening on \([^ ]*\).*/http:\/\/\1/p' "$log" 2>/dev/null || true)
    [[ -n $URL ]] && return 0
    kill -0 "$PID" 2>/dev/null || fail "serve exited: $(cat "$log")"
    sleep 0.05
  done
  fail "serve did not start: $(cat "$log")"
}
