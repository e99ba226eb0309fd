#!/bin/sh
# SteadyDancer Studio's pod bootstrap; contract in crates/pods/bootstrap/README.md. On failure it
# prints an error line and idles: an exiting start command makes RunPod restart it in a loop.
S=${SDS_ROOT:-/workspace/sds}
C=$S/ComfyUI
V=$S/venv
W=$S/.run
P=$S/pins.txt
M=$C/models
js() { printf '%s' "$1" | tr '\n\r\t' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g;s/"/\\"/g'; }
ev() { printf '##sds {%s}\n' "$1"; }
stage() { ev "\"event\":\"stage\",\"stage\":\"$1\",\"message\":\"$(js "$2")\""; }
die() {
  # A download worker hands its failure to the main shell, which stops the others.
  if [ -n "${WK:-}" ]; then
    printf '%s\n%s\n' "$1" "$(js "$2")" >"$W/why.$WK" && mv -f "$W/why.$WK" "$W/failed"
    exit 1
  fi
  ev "\"event\":\"error\",\"code\":\"bootstrap.$1\",\"message\":\"$(js "$2")\""
  [ "${SDS_ON_ERROR:-}" = exit ] && exit 1
  while :; do sleep 3600; done
}
git() { command git -c safe.directory='*' -c advice.detachedHead=false "$@"; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

stage prepare "lock ${SDS_LOCK_ID:-unknown} in $S"
rm -rf "$W"
mkdir -p "$W" "$C" || die disk "cannot create $W"
[ -n "${SDS_SERVICES:-}" ] && { sh -c "$SDS_SERVICES" </dev/null & }
export GIT_TERMINAL_PROMPT=0

# --- repositories: ComfyUI first, then node packs, each at exactly its pinned commit
printf '%s\n' "${SDS_REPOS:-}" | grep . >"$W/repos" || die input "SDS_REPOS is empty"
: >"$W/dirs"
E="{\"lock\":\"$(js "${SDS_LOCK_ID:-}")\",\"repos\":["
while read -r n c u <&3; do
  [ -n "$u" ] || die input "bad SDS_REPOS line: $n $c"
  if [ -s "$W/dirs" ]; then d=$C/custom_nodes/$n; else d=$C; fi
  echo "$d" >>"$W/dirs"
  stage install "$n $(echo "$c" | cut -c1-7)"
  h=
  [ -e "$d/.git" ] && h=$(git -C "$d" rev-parse -q --verify HEAD)
  if [ "$h" != "$c" ]; then
    mkdir -p "$d"
    [ -e "$d/.git" ] || git init -q "$d" >&2 || die git "cannot create a git checkout in $d"
    # A shallow fetch of the one commit is cheapest; servers that refuse it get a full fetch.
    git -C "$d" fetch -q --depth 1 "$u" "$c" >&2 ||
      git -C "$d" fetch -q $([ -f "$d/.git/shallow" ] && echo --unshallow) "$u" \
        '+refs/heads/*:refs/remotes/sds/*' '+refs/tags/*:refs/tags/*' >&2 ||
      die git "could not fetch $n from $u; check the address and the network, then restart the pod"
    git -C "$d" checkout -q -f "$c" >&2 || die git "$u has no commit $c for $n; fix the lock"
    h=$(git -C "$d" rev-parse -q --verify HEAD)
  fi
  [ "$h" = "$c" ] || die git "$n is at ${h:-no commit} after checkout, not the pinned $c"
  [ -s "$W/dirs.json" ] && printf ',' >>"$W/dirs.json"
  printf '{"name":"%s","commit":"%s"}' "$(js "$n")" "$h" >>"$W/dirs.json"
done 3<"$W/repos"
printf '%s%s]}\n' "$E" "$(cat "$W/dirs.json")" >"$S/environment.json"

# The environment node: .onnx in models/detection, and the commits for the app's preflight.
[ -n "${SDS_NODE_PY:-}" ] || die input "SDS_NODE_PY is empty"
mkdir -p "$C/custom_nodes/sds_environment" &&
  printf '%s\n' "$SDS_NODE_PY" >"$C/custom_nodes/sds_environment/__init__.py" || die disk "cannot write to $C"

# --- python: a venv that sees the image's torch; pip only when the requirements changed
stage python "virtual environment in $V"
PY=${SDS_PYTHON:-python3}
# Without pip of its own the venv is made in a blink; the image's pip installs into it.
"$V/bin/python" -c '' 2>/dev/null ||
  "$PY" -m venv --system-site-packages --without-pip --clear "$V" >&2 ||
  die pip "$PY could not create a virtual environment in $V"
"$V/bin/python" -m pip --version >/dev/null 2>&1 || "$V/bin/python" -m ensurepip >&2 ||
  die pip "no pip for $PY in the image, and ensurepip failed"
printf '%s\n' "${SDS_CONSTRAINTS:-}" >"$S/constraints.txt"
printf '%s\n' "${SDS_PIP:-}" >"$W/extra.txt"
set -- -r "$W/extra.txt"
while read -r d; do [ -f "$d/requirements.txt" ] && set -- "$@" -r "$d/requirements.txt"; done <"$W/dirs"
reqs() { for f; do [ "$f" = -r ] || cat "$f"; done; }
h=$({ cat "$S/constraints.txt"; reqs "$@"; } | sha256sum | cut -c1-64)
if [ "$(cat "$V/.sds-requirements" 2>/dev/null)" = "$h" ]; then
  stage python "requirements unchanged since the last install, pip skipped"
else
  if reqs "$@" | grep -v '^[[:space:]]*#' | grep -q '[^[:space:]]'; then
    stage python "pip install of $(($# / 2 - 1)) requirements files and SDS_PIP"
      { "$V/bin/python" -m pip install --disable-pip-version-check -c "$S/constraints.txt" "$@" \
      ${SDS_PIP_ARGS:-} </dev/null; echo $? >"$W/pip.rc"; } 2>&1 | tee "$W/pip.log" >&2
    [ "$(cat "$W/pip.rc")" = 0 ] ||
      die pip "pip install failed: $(grep . "$W/pip.log" | tail -n 1); see the pod's log"
  fi
  echo "$h" >"$V/.sds-requirements"
fi

# --- models, verified against the lock's sha256 or else the pin of the first download
# plan DEST SIZE SHA REV: F file, R revision to ask for, XS/XZ expected hash/size, PR/PS/PZ pin
plan() {
  F=$M/$1
  set -- "$@" $(awk -v d="$1" '$1 == d { print $2, $3, $4; exit }' "$P" 2>/dev/null)
  PR=${5:-} PS=${6:-} PZ=${7:-}
  [ "$4" = - ] || [ "$4" = "$PR" ] || PR= PS= PZ=
  R=$4 XS=$3 XZ=$2
  [ "$R" = - ] && R=${PR:-main}
  [ "$XS" = - ] && XS=$PS XZ=$PZ
}
# present: the file has the expected size and hash (hashed once, then stamped)
present() {
  [ -f "$F" ] && [ -n "$XS" ] || return 1
  z=$(size "$F") hs= zs=
  [ -z "$XZ" ] || [ "$XZ" = "$z" ] || return 1
  [ -f "$F.sha256" ] && read -r hs zs <"$F.sha256"
  if [ "$zs" != "$z" ]; then
    hs=$(sha256sum "$F" | cut -c1-64)
    echo "$hs $z" >"$F.sha256"
  fi
  [ "$hs" = "$XS" ]
}
# progress [CURRENT] (default: the file started last)
progress() {
  pc=${1-$(cat "$W/current" 2>/dev/null)} pn=0 pd=0 pb=0 pt=0
  while read -r pk pf pz _ <&4; do
    pn=$((pn + 1))
    if [ -f "$W/ok.$pk" ]; then
      ps=$(size "$M/$pf") pd=$((pd + 1)) pb=$((pb + ps)) pt=$((pt + ps))
    else
      pt=$((pt + pz)) pb=$((pb + $(size "$M/$pf.part")))
    fi
  done 4<"$W/list"
  ev "\"event\":\"models\",\"done_files\":$pd,\"files\":$pn,\"done_bytes\":$pb,\"total_bytes\":$pt,\"current\":\"$(js "$pc")\""
}
hv() { tr -d '\r"' 2>/dev/null <"$H" | grep -i "^$1:" | head -n 1 | sed 's/^[^:]*:[[:space:]]*//;s/^W\///'; }
fetch() { # K DEST SIZE SHA REV REPO PATH
  plan "$2" "$3" "$4" "$5"
  echo "$2" >"$W/current"
  progress "$2"
  mkdir -p "$(dirname "$F")"
  u=${SDS_HF_BASE:-https://huggingface.co}/$6/resolve/$R/$7 H=$W/hdr.$1 a=0 rc= et= ls=
  while :; do
    b=$(size "$F.part")
    curl -fsSL -C - -o "$F.part" -D "$H" -w '%{http_code}' $AUTH --connect-timeout 30 \
      --speed-limit "${SDS_STALL_BYTES:-1024}" --speed-time "${SDS_STALL_SECS:-60}" \
      "$u" </dev/null >"$W/code.$1" &
    echo $! >"$W/curl.$1"
    wait $!
    e=$?
    rm -f "$W/curl.$1"
    [ "$(size "$F.part")" -gt "$b" ] && a=0
    # Hugging Face names the commit and the LFS sha256 and size on its first (redirect) answer.
    v=$(hv x-repo-commit) && [ -n "$v" ] && rc=$v
    v=$(hv x-linked-etag) && [ ${#v} = 64 ] && et=$v
    v=$(hv x-linked-size) && [ -n "$v" ] && ls=$v
    [ "$e" = 0 ] && break
    code=$(cat "$W/code.$1")
    [ "$e" = 33 ] && rm -f "$F.part" # the server ignores ranges: start over
    case $code in
    416) break ;; # the .part is already whole; the hash decides
    408 | 429) ;;
    401 | 403) die download "HTTP $code for $2 from $u: set HF_TOKEN to a token that may read $6" ;;
    4??) die download "HTTP $code for $2 from $u: the lock names a file that is not there" ;;
    esac
    a=$((a + 1))
    [ "$a" -lt "${SDS_RETRIES:-8}" ] ||
      die download "$2 from $u failed $a times (curl exit $e, HTTP $code); check the network and restart the pod"
    echo "sds: $2: curl exit $e, resuming" >&2
    sleep "${SDS_RETRY_SECS:-3}"
  done
  z=$(size "$F.part")
  [ -z "$ls" ] || [ "$ls" = "$z" ] ||
    { rm -f "$F.part"; die download "$2: received $z bytes but the server announced $ls; deleted, restart the pod"; }
  h=$(sha256sum "$F.part" | cut -c1-64)
  x=${XS:-$et}
  if [ -n "$x" ] && [ "$h" != "$x" ]; then
    rm -f "$F.part"
    [ "$4" = - ] && [ -n "$PS" ] &&
      die pin_mismatch "$2 differs from its pin in $P: pinned revision $PR sha256 $PS ($PZ bytes), downloaded revision ${rc:-$R} sha256 $h ($z bytes); the file changed upstream: put its sha256 in the lock or delete its line in $P to accept it"
    [ "$x" = "$4" ] && src="the lock" || src="the server's X-Linked-Etag"
    die hash_mismatch "$2 from $u: expected sha256 $x ($src), got $h ($z bytes); the download was deleted"
  fi
  mv -f "$F.part" "$F" && echo "$h $z" >"$F.sha256" || die disk "cannot write $F"
  if [ -z "$PS" ]; then
    while ! mkdir "$W/pinlock" 2>/dev/null; do sleep 1; done
    { awk -v d="$2" '$1 != d' "$P" 2>/dev/null; echo "$2 ${rc:-$R} $h $z"; } >"$P.new" && mv -f "$P.new" "$P"
    rmdir "$W/pinlock"
    ev "\"event\":\"pinned\",\"file\":\"$(js "$2")\",\"revision\":\"$(js "${rc:-$R}")\",\"sha256\":\"$h\",\"size\":$z"
  fi
  : >"$W/ok.$1"
  progress "$2"
}
worker() {
  WK=$1
  while read -r k d z s r p q <&3; do
    [ -f "$W/failed" ] && break
    [ -f "$W/ok.$k" ] || ! mkdir "$W/claim.$k" 2>/dev/null || fetch "$k" "$d" "$z" "$s" "$r" "$p" "$q"
  done 3<"$W/list"
  : >"$W/end.$WK"
}

stage models "checking model files"
printf '%s\n' "${SDS_MODELS:-}" | grep . | awk '{ print NR, $0 }' >"$W/list"
need=0 todo=0
while read -r k d z s r p q <&3; do
  [ -n "$q" ] || die input "bad SDS_MODELS line: $d $z $s $r $p"
  plan "$d" "$z" "$s" "$r"
  if present; then : >"$W/ok.$k"; else
    todo=$((todo + 1)) m=$((${XZ:-$z} - $(size "$F.part")))
    [ "$m" -gt 0 ] && need=$((need + m))
  fi
done 3<"$W/list"
mkdir -p "$M"
free=$(df -Pk "$M" | awk 'NR == 2 { print $4 }')
free=$((${free:-0} * 1024))
[ "$need" -le "$free" ] ||
  die disk "the models need $need more bytes but only $free are free under $S; use a larger volume or container disk"
stage models "$todo of $(grep -c . "$W/list") files to download, $need bytes"
progress
AUTH=
if [ -n "${HF_TOKEN:-}" ]; then
  # In a file, so the token never shows in the process list
  (umask 077 && printf 'Authorization: Bearer %s\n' "$HF_TOKEN" >"$W/auth")
  AUTH=-H@$W/auth
fi
i=0 WP=
while [ "$i" -lt "${SDS_PARALLEL:-3}" ]; do
  i=$((i + 1))
  worker "$i" &
  WP="$WP $!"
done
t=0
while [ ! -f "$W/failed" ] && [ "$(find "$W" -name 'end.*' | wc -l)" -lt "$i" ]; do
  sleep 1
  t=$((t + 1))
  [ $((t % ${SDS_PROGRESS_SECS:-5})) = 0 ] && progress
done
if [ -f "$W/failed" ]; then
  kill $WP $(cat "$W"/curl.* 2>/dev/null) 2>/dev/null
  die "$(sed -n 1p "$W/failed")" "$(sed -n 2p "$W/failed")"
fi
wait $WP
progress ""

# --- ComfyUI, as a child so that its end is reported instead of restarting the container
stage start "ComfyUI on port ${SDS_PORT:-8188}"
cd "$C" || die comfy_exit "no $C"
trap 'STOP=1; kill "$CP" 2>/dev/null' TERM INT HUP
"$V/bin/python" main.py --listen 0.0.0.0 --port "${SDS_PORT:-8188}" ${SDS_COMFY_ARGS:-} </dev/null &
CP=$!
while :; do
  wait "$CP"
  e=$?
  kill -0 "$CP" 2>/dev/null || break
done
[ -n "${STOP:-}" ] && exit 0
die comfy_exit "ComfyUI stopped with status $e; its own messages are above in the pod's log"
