#!/bin/sh
# Build CPython 3.13.5 from Debian trixie's python3.13 source package, twice from the same
# source: free-threaded (--disable-gil) and its GIL twin, so that measured ratios compare two
# interpreters that differ only in the build flag.
#
# Why Debian's source package: on this project's machines only Debian's archive is reachable;
# the package's *.orig.tar.xz is the upstream release tarball (Debian's patches are not applied).
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

fetch_source() {
    [ -d "$BASE/src/Python-$VERSION" ] && return 0
    apt=$BASE/apt
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc" "$BASE/src"
    # A private apt configuration: deb-src lines for trixie only, not touching the system's.
    cat > "$apt/etc/sources.list" <<SRC
deb-src http://deb.debian.org/debian trixie main
deb-src http://deb.debian.org/debian-security trixie-security main
SRC
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
