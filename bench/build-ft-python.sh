#!/bin/sh
# Build CPython 3.13.5 from Debian trixie's python3.13 source package, twice from the same
# source: free-threaded (--disable-gil) and its GIL twin, so that measured ratios compare two
# interpreters that differ only in the build flag.
#
# Why Debian's source package: on this project's machines only Debian's archive is reachable;
# the package's *.orig.tar.xz is the upstream release tarball (Debian's patches are not applied).
# The archive is reached through the machine's own mirror: the first Debian archive URI of its apt
# sources (/etc/apt/sources.list and /etc/apt/sources.list.d/*.list, one-line format, and
# /etc/apt/sources.list.d/*.sources, deb822 format), and the first whose suite ends in -security
# for the security archive. RS_DEBIAN_MIRROR and RS_DEBIAN_SECURITY_MIRROR override them;
# RS_APT_ETC (default /etc/apt) says where the sources are read from.
# On a normal machine, `uv python install 3.14t` or pyenv's 3.14t gives a free-threaded
# interpreter without building.
#
# Usage: bench/build-ft-python.sh [PREFIX_ROOT]   (default ~/.cache/refstrat-ft)
#   -> PREFIX_ROOT/3.13.5/ft/bin/python3.13t and PREFIX_ROOT/3.13.5/gil/bin/python3.13
# Env:  RS_FT_ONLY=1 builds only the free-threaded one; JOBS (default: nproc).
# A finished build is kept (a `.done` stamp per flavour), so a rerun skips it.
set -eu

VERSION=3.13.5
DEB_VERSION=3.13.5-2+deb13u5      # python3.13 in trixie(-security) when this was written
ROOT=${1:-${HOME}/.cache/refstrat-ft}
BASE=$ROOT/$VERSION
JOBS=${JOBS:-$(nproc)}
mkdir -p "$BASE"
BASE=$(cd "$BASE" && pwd)

# apt_uris: one "URI SUITE" line for every enabled deb/deb-src entry of the apt sources, in the
# order apt reads them. One-line format: `deb [options] URI SUITE COMPONENT...`; deb822 format:
# stanzas of `Types:`, `URIs:`, `Suites:` (and `Enabled: no` to turn one off).
apt_uris() {
    etc=${RS_APT_ETC:-/etc/apt}
    for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" || $1 == "deb-src" { if (NF >= 3) print $2, $3 }'
    done
    for f in "$etc"/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # deb822: a comment is a whole line starting with #; removed, it must not end a stanza.
        sed -e '/^[[:space:]]*#/d' "$f" | awk '
            function flush(   i, j, nu, ns, u, s) {
                if (types ~ /(^| )deb(-src)?( |$)/ && tolower(enabled) != "no") {
                    nu = split(uris, u, " "); ns = split(suites, s, " ")
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
                }
                types = uris = suites = ""; enabled = "yes"
            }
            BEGIN { enabled = "yes" }
            /^[ \t]*$/ { flush(); next }
            { key = tolower($1); $1 = ""; sub(/^ +/, "") }
            key == "types:" { types = $0 } key == "uris:" { uris = $0 }
            key == "suites:" { suites = $0 } key == "enabled:" { enabled = $0 }
            END { flush() }'
    done
}

# The machine's Debian archive and security archive (URIs without a trailing slash).
find_mirrors() {
    # Prefer a URI ending in /debian (the archive itself), else the first that is not security.
    MIRROR=${RS_DEBIAN_MIRROR:-$(apt_uris | awk '$2 !~ /-security$/ { if ($1 ~ /debian\/?$/) { print $1; found = 1; exit }
                                                                     if (first == "") first = $1 }
                                                 END { if (!found && first != "") print first }')}
    MIRROR=${MIRROR%/}
    SECURITY=${RS_DEBIAN_SECURITY_MIRROR:-$(apt_uris | awk '$2 ~ /-security$/ { print $1; exit }')}
    SECURITY=${SECURITY%/}
    if [ -z "$MIRROR" ]; then
        echo "no Debian archive in the apt sources under ${RS_APT_ETC:-/etc/apt}; set RS_DEBIAN_MIRROR" \
             "to one (its URI, ending in /debian)" >&2
        exit 1
    fi
}

fetch_source() {
    [ -d "$BASE/src/Python-$VERSION" ] && return 0
    apt=$BASE/apt
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc" "$BASE/src"
    # A private apt configuration: deb-src lines for trixie only, through the machine's own
    # mirrors, not touching the system's configuration.
    find_mirrors
    echo "deb-src $MIRROR trixie main" > "$apt/etc/sources.list"
    [ -z "$SECURITY" ] || echo "deb-src $SECURITY trixie-security main" >> "$apt/etc/sources.list"
    set -- -o Dir::Etc::SourceList="$apt/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null \
           -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" \
           -o APT::Sandbox::User=root
    apt-get -q "$@" update
    # The package may have moved on; fall back to whatever python3.13 trixie carries now.
    (cd "$BASE/src" && { apt-get -q "$@" source --download-only "python3.13=$DEB_VERSION" \
                         || apt-get -q "$@" source --download-only python3.13; })
    tar -C "$BASE/src" -xJf "$BASE/src/python3.13_$VERSION.orig.tar.xz"
}

build() {   # build FLAVOUR CONFIGURE_FLAGS...
    flavour=$1; shift
    prefix=$BASE/$flavour
    [ -f "$prefix/.done" ] && { echo "$prefix: already built"; return 0; }
    obj=$BASE/build-$flavour
    rm -rf "$obj" "$prefix"
    mkdir -p "$obj"
    # No test modules, and byte-compile only the top level at install (the rest compiles when
    # first imported): together about a third of the build's time, none of it used here.
    (cd "$obj" && "$BASE/src/Python-$VERSION/configure" --prefix="$prefix" --disable-test-modules "$@" \
        >configure.log && nice -n 10 make -j"$JOBS" >make.log 2>&1 \
        && make install COMPILEALL_OPTS='-j0 -l' >install.log 2>&1)
    touch "$prefix/.done"
    rm -rf "$obj"
}

fetch_source
build ft --disable-gil
[ "${RS_FT_ONLY:-0}" = 1 ] || build gil
echo "free-threaded: $BASE/ft/bin/python${VERSION%.*}t"
[ "${RS_FT_ONLY:-0}" = 1 ] || echo "GIL twin:      $BASE/gil/bin/python${VERSION%.*}"
