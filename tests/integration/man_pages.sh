#!/usr/bin/env bash
#
# man_pages.sh - the man pages built from docs/man/*.scd are well-formed
# and cannot drift from the binaries: each renders with `man --warnings`
# without a single warning, names its program in NAME, and mentions every
# option (and for snapmark(1) every command) that the binary's --help
# lists. Every binary answers --version with "NAME VERSION (git REV)",
# VERSION being meson.build's project version and REV a commit of this
# checkout.
#
# Needs man-db and groff-base (scripts/bootstrap installs them).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v man >/dev/null || fail "man is not installed (scripts/bootstrap installs man-db)"
command -v groff >/dev/null || fail "groff is not installed (scripts/bootstrap installs groff-base)"

# page BINARY -> the built man page.
declare -A PAGE=(
	[snapmark]="$B/docs/man/snapmark.1"
	[snapmark-coordinator]="$B/docs/man/snapmark-coordinator.8"
	[snapmark-worker]="$B/docs/man/snapmark-worker.8"
)
declare -A BIN=(
	[snapmark]="$B/cli/snapmark"
	[snapmark-coordinator]="$B/coordinator/snapmark-coordinator"
	[snapmark-worker]="$B/worker/snapmark-worker"
)
JOBPAGE="$B/docs/man/snapmark-job.5"

# render PAGE: the page as plain ASCII text, one paragraph per line (wide
# enough that no option is broken or hyphenated across lines).
render() {
	LC_ALL=C MANWIDTH=1000 MAN_KEEP_FORMATTING= man -l "$1" 2>/dev/null | col -bx
}

for page in "${PAGE[@]}" "$JOBPAGE"; do
	[[ -s $page ]] || fail "man page $page was not built"
	warnings="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)"
	[[ -z $warnings ]] || fail "man --warnings -l $page: $warnings"
	# And at the width of a narrow terminal, where groff complains about
	# lines it cannot break.
	warnings="$(LC_ALL=C.UTF-8 MANWIDTH=60 man --warnings -l "$page" 2>&1 >/dev/null)"
	[[ -z $warnings ]] || fail "man --warnings -l $page at 60 columns: $warnings"
	name="$(basename "$page")"
	name="${name%.*}"
	# Rendered in full first: awk leaving early would SIGPIPE man, and
	# pipefail would call that a failure.
	rendered="$(render "$page")"
	awk '/^NAME/ { getline; print; exit }' <<<"$rendered" | grep -q "^ *$name - " ||
		fail "$page: NAME section does not start with '$name - '"
done
say "4 man pages render without warnings"

# options_of HELP_TEXT: every option the usage text names, one per line.
options_of() {
	grep -oE '(^|[][ ,(|])(--[a-z][a-z-]*|-[a-zA-Z])([] ,=|)]|$)' <<<"$1" |
		sed -E 's/^[][ ,(|]//; s/[] ,=|)]$//' | sort -u
}

for bin in "${!BIN[@]}"; do
	help="$("${BIN[$bin]}" --help)" || fail "$bin --help exited non-zero"
	text="$(render "${PAGE[$bin]}")"
	opts="$(options_of "$help")"
	[[ $(wc -l <<<"$opts") -ge 3 ]] || fail "found only '$opts' in $bin --help"
	while read -r opt; do
		grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)" <<<"$text" ||
			fail "$bin --help lists $opt, its man page $(basename "${PAGE[$bin]}") does not"
	done <<<"$opts"
	if [[ $bin == snapmark ]]; then
		cmds="$(awk '/^commands:/ { on = 1; next } /^$/ { on = 0 }
			on && /^  [a-z]/ { print $1 }' <<<"$help")"
		[[ $(wc -l <<<"$cmds") -ge 5 ]] || fail "found only '$cmds' as commands in snapmark --help"
		# A command is documented as a heading line of its own in
		# COMMANDS (e.g. "show ID").
		commands_section="$(awk '/^COMMANDS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' <<<"$text")"
		while read -r c; do
			grep -qE "^ {1,8}$c( |\$)" <<<"$commands_section" ||
				fail "snapmark --help lists command $c, snapmark(1) has no entry for it in COMMANDS"
		done <<<"$cmds"
	fi
	say "$bin: every option of --help is in its man page ($(paste -sd' ' <<<"$opts"))"
done

# --- --version ----------------------------------------------------------------------
# The oracle: meson.build's project version read with sed, the commit with git.
want_version="$(sed -nE "s/^ *version *: *'([^']+)'.*/\1/p" "$SRC/meson.build" | head -n 1)"
[[ -n $want_version ]] || fail "no version in $SRC/meson.build"
for bin in "${!BIN[@]}"; do
	out="$("${BIN[$bin]}" --version)" || fail "$bin --version exited non-zero"
	[[ $out =~ ^$bin\ ([^ ]+)\ \(git\ ([0-9a-f]{7,}|unknown)(-dirty)?\)$ ]] ||
		fail "$bin --version printed '$out', want '$bin VERSION (git REV)'"
	[[ ${BASH_REMATCH[1]} == "$want_version" ]] ||
		fail "$bin --version says ${BASH_REMATCH[1]}, meson.build says $want_version"
	rev="${BASH_REMATCH[2]}"
	if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
		[[ $rev != unknown ]] || fail "$bin --version: git revision unknown in a git checkout"
		git -C "$SRC" cat-file -e "$rev^{commit}" 2>/dev/null ||
			fail "$bin --version: $rev is not a commit of $SRC"
	fi
	[[ $(wc -l <<<"$out") == 1 ]] || fail "$bin --version printed more than one line"
done
say "--version: $("${BIN[snapmark]}" --version)"
say "PASS"
