#!/usr/bin/env bash
# layering.sh - the layers of the tree, checked on every #include.
#
#   include/snapmark/  the public SDK header (includes nothing of ours)
#   proto/        generated messages (no project includes)
#   common/       includes common/, proto/, snapmark/
#   operators/    includes operators/, snapmark/ (built-in SDK operators,
#                 written like plugins)
#   sdk/          includes sdk/, operators/, common/, proto/, snapmark/
#                 (loading user operators)
#   worker/       includes worker/, sdk/, common/, proto/, snapmark/
#   coordinator/  includes coordinator/, sdk/, common/, proto/, snapmark/
#   cli/          includes cli/, coordinator/, sdk/, common/, proto/,
#                 snapmark/
#
# Files of one layer include each other one way only (a check below).
#
# Every project include names its folder ("common/store.h"), so one grep
# per folder finds an include that reaches up or sideways. tests/ and
# bench code may include any layer.
set -u
SRC="${SNAPMARK_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$SRC" || exit 1

allowed() {
	case "$1" in
	include) echo 'NONE' ;;
	common) echo 'common|proto|snapmark' ;;
	operators) echo 'operators|snapmark' ;;
	sdk) echo 'sdk|operators|common|proto|snapmark' ;;
	worker) echo 'worker|sdk|common|proto|snapmark' ;;
	coordinator) echo 'coordinator|sdk|common|proto|snapmark' ;;
	cli) echo 'cli|coordinator|sdk|common|proto|snapmark' ;;
	esac
}

# Known crossings being removed (file:include); each one still reported.
EXEMPT=()

bad=0
checked=0
for layer in include common operators sdk worker coordinator cli; do
	[[ -d $layer ]] || continue
	ok="$(allowed "$layer")"
	while IFS= read -r line; do
		checked=$((checked + 1))
		inc="${line#*#include \"}"
		inc="${inc%%\"*}"
		if [[ $inc != */* ]]; then
			echo "unqualified include (name its folder): $line"
			bad=$((bad + 1))
		elif ! [[ ${inc%%/*} =~ ^($ok)$ ]]; then
			if [[ " ${EXEMPT[*]} " == *" ${line%%:*}:$inc "* ]]; then
				echo "known crossing (to be removed): $line"
				continue
			fi
			echo "layer $layer may not include ${inc%%/*}/: $line"
			bad=$((bad + 1))
		fi
	done < <(grep -rn --include='*.c' --include='*.h' --include='*.h.in' \
		'^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$layer")
done
# Within a layer, calls go one way: no two files include each other's
# header (A.c includes "L/B.h" and B.c includes "L/A.h").
for layer in include common operators sdk worker coordinator cli; do
	[[ -d $layer ]] || continue
	for a in "$layer"/*.c; do
		[[ -e $a ]] || continue
		an="$(basename "$a" .c)"
		while IFS= read -r bh; do
			bn="$(basename "$bh" .h)"
			[[ $bn == "$an" || ! -e $layer/$bn.c ]] && continue
			if grep -q "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$layer/$an\.h\"" \
				"$layer/$bn.c"; then
				echo "$a and $layer/$bn.c include each other's header"
				bad=$((bad + 1))
			fi
		done < <(grep -o "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$layer/[a-z_0-9]*\.h\"" "$a" |
			sed 's/.*"\(.*\)".*/\1/')
	done
done
if ((checked == 0)); then
	echo "no includes found under $SRC: wrong source dir?"
	exit 1
fi
echo "$checked includes checked, $bad outside their layer or both ways"
((bad == 0))
