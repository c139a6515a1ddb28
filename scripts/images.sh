#!/usr/bin/env bash
# Builds the container images here (see scripts/images/build.sh --help).
exec bash "$(dirname "$0")/images/build.sh" "$@"
