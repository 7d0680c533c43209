# progress.bash — sourced by the build scripts (build-caddy, build-hydra,
# k8s/scripts/build-apiserver, ci-gates) so that a newcomer waiting on a
# cold build sees what is being built, how long it usually takes, and that
# it is still going: go build is silent for minutes at a time.
#
#   progress_start LABEL    print "LABEL: still building, 1m20s elapsed" to
#                           stderr every 10 s until progress_stop
#   progress_stop           stop it (also stops by itself if the script dies)
#   progress_fmt SECONDS    1m20s

progress_fmt() {
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

progress_pid=""

progress_start() {
  progress_stop
  local label=$1 start parent=$$
  start=$(date +%s)
  (
    # Ends with the script even when it exits without progress_stop (set -e).
    while sleep 10 && kill -0 "$parent" 2>/dev/null; do
      printf '%s: still building, %s elapsed\n' "$label" "$(progress_fmt $(($(date +%s) - start)))" >&2
    done
  ) >/dev/null & # stdout closed: the caller may be inside $(...)
  progress_pid=$!
}

progress_stop() {
  if [[ -n $progress_pid ]]; then
    kill "$progress_pid" 2>/dev/null || true
    wait "$progress_pid" 2>/dev/null || true
    progress_pid=""
  fi
}
