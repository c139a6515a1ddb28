#!/usr/bin/env bash
# Prints the directory holding the cached client tools, for PATH.
echo "${OCIREG_CACHE:-$HOME/.cache/ocireg}/bin"
