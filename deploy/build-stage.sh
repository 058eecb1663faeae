#!/usr/bin/env bash
# Runs the build stage of deploy/Dockerfile without Docker, as CI cannot
# pull images: it reads the stage's instructions from the Dockerfile itself
# (so the two cannot drift), maps WORKDIR into a temporary root, copies the
# build context as deploy/Dockerfile.dockerignore filters it, runs each RUN
# line with sh -c, then checks that every file the later stages
# COPY --from=build exists. An instruction it cannot run is an error.
#
#   deploy/build-stage.sh [--keep DIR]   DIR: where to leave the stage's root
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dockerfile=$repo/deploy/Dockerfile
ignore=$repo/deploy/Dockerfile.dockerignore
keep=
if [ "${1:-}" = --keep ]; then
	keep=${2:?--keep needs a directory}
fi

root=$(mktemp -d)
if [ -z "$keep" ]; then
	trap 'rm -rf "$root"' EXIT
fi

# The Dockerfile as one instruction a line: comments dropped, continuations
# joined.
instructions() {
	sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$dockerfile" |
		awk '{ if (sub(/\\[[:space:]]*$/, "")) { buf = buf $0 " "; next } print buf $0; buf = "" }'
}

# copy_context DEST: the build context (the repository) less what the
# .dockerignore leaves out.
copy_context() {
	local dest=$1 excludes=() pat
	while IFS= read -r pat; do
		case $pat in '' | '#'*) continue ;; esac
		excludes+=("--exclude=./${pat#\*\*/}" "--exclude=${pat#\*\*/}")
	done <"$ignore"
	tar -C "$repo" "${excludes[@]}" -cf - . | tar -C "$dest" -xf -
}

stage=0
cwd=$root
mapfile -t lines < <(instructions)
for line in "${lines[@]}"; do
	op=${line%%[[:space:]]*}
	args=${line#"$op"}
	args=${args#"${args%%[![:space:]]*}"}
	op=${op^^}
	if [ "$op" = FROM ]; then
		stage=$((stage + 1))
		if [ "$stage" = 1 ]; then
			case $args in
			golang:*' AS build' | golang:*' as build') echo "build stage: $args" ;;
			*) echo "build-stage.sh: the first stage must be 'FROM golang:... AS build', not '$args'" >&2; exit 1 ;;
			esac
		fi
		continue
	fi
	if [ "$stage" != 1 ]; then
		# Later stages: only check what they take from the build stage.
		if [ "$op" = COPY ] && [[ $args == --from=build\ * ]]; then
			read -r _ from _ <<<"$args"
			if [ ! -e "$root$from" ]; then
				echo "build-stage.sh: the Dockerfile copies $from from the build stage, which did not make it" >&2
				exit 1
			fi
			echo "ok: $from (taken by a later stage)"
		fi
		continue
	fi
	echo "+ $op $args"
	case $op in
	ARG)
		name=${args%%=*}
		if [[ $args == *=* ]]; then
			export "$name=${!name:-${args#*=}}"
		fi
		;;
	ENV)
		# One NAME=VALUE per ENV line in the build stage.
		export "${args?}"
		;;
	WORKDIR)
		case $args in /*) cwd=$root$args ;; *) cwd=$cwd/$args ;; esac
		mkdir -p "$cwd"
		;;
	COPY)
		read -r -a parts <<<"$args"
		dest=${parts[-1]}
		case $dest in /*) dest=$root$dest ;; *) dest=$cwd/$dest ;; esac
		mkdir -p "$dest"
		for src in "${parts[@]:0:${#parts[@]}-1}"; do
			case $src in
			--*) echo "build-stage.sh: COPY option $src in the build stage is not supported" >&2; exit 1 ;;
			.) copy_context "$dest" ;;
			*) cp -R "$repo/$src" "$dest/" ;;
			esac
		done
		;;
	RUN)
		(cd "$cwd" && sh -c "$args")
		;;
	*)
		echo "build-stage.sh: instruction $op in the build stage is not supported; teach this script or keep the stage simple" >&2
		exit 1
		;;
	esac
done
[ "$stage" -ge 2 ] || { echo "build-stage.sh: no runtime stage after the build stage" >&2; exit 1; }
if [ -n "$keep" ]; then
	rm -rf "$keep"
	mv "$root" "$keep"
	echo "build stage's root: $keep"
fi
echo "build stage: ok"
