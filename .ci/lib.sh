# Helpers shared by .ci/run, .ci/sanitizers and .ci/free-threaded (sourced, not run).

# clean_copy: set $src to a temporary copy of the tracked tree, removed when the script exits: no
# object file or venv of another build comes along.
clean_copy() {
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    git ls-files -z | xargs -0 cp --parents -t "$src"
}

# run_tests WHAT COMMAND...: run a pytest command; a failure, or no test collected (pytest's exit
# status 5), ends the script with a non-zero status.
run_tests() {
    local what=$1 rc=0
    shift
    "$@" || rc=$?
    [ "$rc" -ne 5 ] || { echo "$what collected no tests: that is a failure here" >&2; exit 1; }
    [ "$rc" -eq 0 ] || exit "$rc"
}
