# Cached minimal Debian roots for the tests that run another Debian (sourced, not run):
# spec/other-release/run (the README's packages, commands run under systemd-nspawn) and
# spec/acceptance/run (those plus what a booted Puppet master needs, booted with systemd).
#
#   . spec/support/debian-root.sh
#   debian_root_release_or_default RELEASE DEFAULT_RULE     → $release (checked)
#   debian_root_ensure NAME RELEASE "PACKAGES"              → $DEBIAN_ROOT (a base root)
#   debian_root_ensure NAME RELEASE "PACKAGES" BASE_NAME "BASE_PACKAGES"
#                                                           → $DEBIAN_ROOT (BASE + PACKAGES)
#   debian_root_overlay ROOT WORK                           → WORK/root, a throwaway copy
#   remove_tree DIR                                         unmount what is under DIR, remove it
#
# A base root is made once with `debootstrap --variant=minbase` from the host's Debian mirror
# (its apt sources; $AUTOAMI_DEBIAN_MIRROR and $AUTOAMI_DEBIAN_SECURITY_MIRROR override),
# then PACKAGES (plus what the root itself needs) are installed with --no-install-recommends
# under systemd-nspawn; a derived root is a copy of its base with more packages. Each lives
# in ${AUTOAMI_ROOT_CACHE:-/var/cache/autoami/roots}/NAME with a stamp of what it was made
# from: a change rebuilds it (a derived root also when its base changed). Roots are built
# under an exclusive lock and then held under a shared one for the caller's lifetime, so a
# rebuild never pulls a root from under a run that uses it. The cache is never written to by
# a run: debian_root_overlay gives each run an overlayfs (or, failing that, a copy).
#
# The caller sets `me` (its name, for messages) and has `set -euo pipefail`.

DEBIAN_ROOT_CACHE=${AUTOAMI_ROOT_CACHE:-/var/cache/autoami/roots}
# What every root needs on top of its packages (minbase has no TLS roots, git, ps or ip).
DEBIAN_ROOT_PACKAGES="ca-certificates git procps iproute2"

die() { echo "${me:-debian-root}: $*" >&2; exit 1; }

debian_root_host_codename() { ( (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true); }

# The release asked for, or (empty) the one DEFAULT_RULE names: `other` (the Debian release
# that is not the host's) or a codename. Sets $release.
debian_root_release_or_default() {
  local asked=$1 rule=$2 host
  host=$(debian_root_host_codename)
  release=$asked
  if [[ -z $release ]]; then
    case $rule in
      other)
        case $host in
          bookworm) release=trixie ;;
          trixie) release=bookworm ;;
          *) die "the host is '${host:-unknown}' (/etc/os-release VERSION_CODENAME), not Debian 12 (bookworm) or 13 (trixie): give --release bookworm|trixie" ;;
        esac ;;
      *) release=$rule ;;
    esac
  fi
  case $release in
    bookworm | trixie) ;;
    *) die "--release must be bookworm or trixie, not '$release'" ;;
  esac
}

debian_root_require_tools() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, mount and systemd-nspawn need it)"
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed: apt-get install debootstrap"
  command -v systemd-nspawn >/dev/null 2>&1 || die "systemd-nspawn is not installed: apt-get install systemd-container"
}

# The host's Debian mirror (and security mirror) from its apt sources, one-line or deb822.
debian_root_apt_uris() { # suite → the URIs of the sources that carry it
  local suite=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == s) print $i }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v s="$suite" '
      function flush() { if (types ~ /(^| )deb( |$)/ && enabled !~ /^no$/) { n = split(suites, a, " "); for (j = 1; j <= n; j++) if (a[j] == s) { split(uris, u, " "); print u[1] } } types = uris = suites = ""; enabled = "yes" }
      BEGIN { enabled = "yes" }
      /^[ \t]*$/ { flush(); next }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^Enabled:/ { sub(/^Enabled:[ \t]*/, ""); enabled = $0 }
      END { flush() }' "$f"
  done
}

debian_root_mirrors() { # sets DEBIAN_ROOT_MIRROR and DEBIAN_ROOT_SECURITY
  local host
  host=$(debian_root_host_codename)
  DEBIAN_ROOT_MIRROR=${AUTOAMI_DEBIAN_MIRROR:-$(debian_root_apt_uris "${host:-none}" | head -n 1)}
  DEBIAN_ROOT_MIRROR=${DEBIAN_ROOT_MIRROR:-http://deb.debian.org/debian}
  DEBIAN_ROOT_MIRROR=${DEBIAN_ROOT_MIRROR%/}
  DEBIAN_ROOT_SECURITY=${AUTOAMI_DEBIAN_SECURITY_MIRROR:-$(debian_root_apt_uris "${host:-none}-security" | head -n 1)}
  DEBIAN_ROOT_SECURITY=${DEBIAN_ROOT_SECURITY:-${DEBIAN_ROOT_MIRROR}-security}
  DEBIAN_ROOT_SECURITY=${DEBIAN_ROOT_SECURITY%/}
}

# Unmounts whatever is left mounted under a directory, then removes it.
remove_tree() {
  local dir=$1 m
  [[ -e $dir ]] || return 0
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d' | sort -r)
  rm -rf --one-file-system "$dir"
}

# Runs a shell command as root in a (not booted) root: the packages' maintainer scripts run,
# their services do not start (policy-rc.d). Output goes to LOG.
debian_root_nspawn_install() { # DIR LOG COMMAND
  local dir=$1 log=$2 command=$3
  printf '#!/bin/sh\nexit 101\n' >"$dir"/usr/sbin/policy-rc.d
  chmod 755 "$dir"/usr/sbin/policy-rc.d
  systemd-nspawn --register=no --keep-unit --quiet --pipe --as-pid2 -D "$dir" \
    --setenv=DEBIAN_FRONTEND=noninteractive --setenv=LANG=C.UTF-8 \
    bash -c "set -e; $command" >>"$log" 2>&1 || return 1
  rm -f "$dir"/usr/sbin/policy-rc.d
}

# NAME RELEASE PACKAGES [BASE_NAME BASE_PACKAGES]: makes (or reuses) the cached root and
# sets DEBIAN_ROOT; holds a shared lock on it (and on its base) until the caller exits.
debian_root_ensure() {
  local name=$1 release=$2 packages=$3 base_name=${4:-} base_packages=${5:-}
  local root=$DEBIAN_ROOT_CACHE/$name stamp base_root= lock
  debian_root_mirrors
  mkdir -p "$DEBIAN_ROOT_CACHE"
  if [[ -n $base_name ]]; then
    debian_root_ensure "$base_name" "$release" "$base_packages"
    base_root=$DEBIAN_ROOT
    # Bump "derived N" when the way a derived root is made changes (it rebuilds the cache).
    stamp="derived 1
base $(cat "$base_root/.autoami-root")
packages $packages"
  else
    # Bump the recipe when the way the root is made changes (it rebuilds the cache).
    stamp="recipe 2
release $release
mirror $DEBIAN_ROOT_MIRROR
security $DEBIAN_ROOT_SECURITY
packages $packages
root-packages $DEBIAN_ROOT_PACKAGES"
  fi
  exec {lock}>"$DEBIAN_ROOT_CACHE/.lock-$name"
  flock "$lock"
  if [[ -f $root/.autoami-root && "$(cat "$root/.autoami-root")" == "$stamp" ]]; then
    echo "== reusing the cached root $root (built $(date -u -r "$root/.autoami-root" '+%Y-%m-%d %H:%M UTC'))"
  else
    [[ -e $root ]] && echo "   the cached root $root was built from something else: rebuilding"
    debian_root_build "$name" "$release" "$packages" "$stamp" "$base_root"
  fi
  flock -s "$lock" # shared while the caller uses the root: a rebuild (exclusive) waits for it
  DEBIAN_ROOT=$root
}

debian_root_build() { # NAME RELEASE PACKAGES STAMP BASE_ROOT
  local name=$1 release=$2 packages=$3 stamp=$4 base_root=$5
  local cache=$DEBIAN_ROOT_CACHE root=$DEBIAN_ROOT_CACHE/$name tmp=$DEBIAN_ROOT_CACHE/.build-$name.$$
  local log=$DEBIAN_ROOT_CACHE/.build-$name.log t0=$SECONDS old
  for old in "$cache"/.build-"$name".* "$cache"/.old-"$name".*; do # interrupted: never reused
    [[ $old == *.log ]] || remove_tree "$old"
  done
  trap 'remove_tree "'"$tmp"'"' EXIT
  : >"$log"
  if [[ -n $base_root ]]; then
    echo "== building the root $name: a copy of $base_root, then $packages"
    cp -a --reflink=auto "$base_root" "$tmp"
    rm -f "$tmp/.autoami-root"
    echo "   copied: $((SECONDS - t0)) s"
  else
    echo "== building the root $name (debootstrap --variant=minbase $release, then its packages)"
    debootstrap --variant=minbase --include=ca-certificates "$release" "$tmp" "$DEBIAN_ROOT_MIRROR" >>"$log" 2>&1 || {
      tail -n 30 "$log" >&2
      die "debootstrap $release from $DEBIAN_ROOT_MIRROR failed (log: $log)"
    }
    echo "   debootstrap: $((SECONDS - t0)) s"
    rm -f "$tmp"/etc/apt/sources.list
    cat >"$tmp"/etc/apt/sources.list.d/debian.sources <<EOF
Types: deb
URIs: $DEBIAN_ROOT_MIRROR
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_ROOT_SECURITY
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # minbase writes no /etc/hosts: without it `localhost` does not resolve.
    printf '%s\n' "autoami-$release" >"$tmp"/etc/hostname
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tautoami-%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' "$release" >"$tmp"/etc/hosts
    packages="$packages $DEBIAN_ROOT_PACKAGES"
  fi
  # No service starts while packages install (nothing is booted; the tests start their own).
  if ! debian_root_nspawn_install "$tmp" "$log" \
    "apt-get update -q; apt-get -y -q dist-upgrade; apt-get install -y -q --no-install-recommends $packages; apt-get clean; rm -rf /var/lib/apt/lists/*"; then
    tail -n 40 "$log" >&2
    die "installing the packages in the root $name failed (log: $log)"
  fi
  printf '%s\n' "$stamp" >"$tmp/.autoami-root"
  # Renames only: there is never a half-removed root under the cache's name.
  [[ -e $root ]] && mv "$root" "$cache/.old-$name.$$"
  mv "$tmp" "$root"
  trap - EXIT
  remove_tree "$cache/.old-$name.$$"
  echo "   built in $((SECONDS - t0)) s ($(du -sh --one-file-system "$root" | cut -f1))"
}

# ROOT WORK: mounts a throwaway overlay of ROOT at WORK/root (a copy where overlayfs is
# missing). The caller removes it with `remove_tree WORK` (after unmounting WORK/root).
debian_root_overlay() {
  local root=$1 work=$2
  mkdir -p "$work"/{upper,ovl,root}
  if ! mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/ovl" "$work/root" 2>/dev/null; then
    echo "   (no overlayfs here: copying the root)"
    rmdir "$work/root"
    cp -a --reflink=auto "$root" "$work/root"
  fi
}
