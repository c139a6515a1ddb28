# Shared by scripts/images/*.sh: cache location, deterministic tar layers.
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
IMAGES_CACHE="$CACHE/images"
# Every file in every layer gets this modification time, so a layer's bytes depend
# only on its contents (reproducible digests).
export SOURCE_DATE_EPOCH=0

# det_tar DIR OUT.tar [tar options...]: the directory's contents as a tar whose
# bytes depend only on names, contents, modes and link targets (sorted entries,
# fixed times and owners, no atime/ctime).
det_tar() {
  local dir="$1" out="$2"
  shift 2
  tar -C "$dir" --sort=name --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime=@0 --owner=0 --group=0 --numeric-owner \
    "$@" -cf "$out" .
}

# layer_from_dir DIR NAME: writes $IMAGES_CACHE/layers/<sha256 of the tar>.tar.gz once
# (content-addressed) and prints "<gz path> <diff id>".
layer_from_dir() {
  local dir="$1" tmp diff
  mkdir -p "$IMAGES_CACHE/layers"
  tmp="$(mktemp "$IMAGES_CACHE/layers/.tmp.XXXXXX")"
  det_tar "$dir" "$tmp"
  diff="$(sha256sum "$tmp" | cut -d' ' -f1)"
  if [ -f "$IMAGES_CACHE/layers/$diff.tar.gz" ]; then
    rm -f "$tmp"
  else
    gzip -n -6 <"$tmp" >"$tmp.gz"
    mv "$tmp.gz" "$IMAGES_CACHE/layers/$diff.tar.gz"
    rm -f "$tmp"
  fi
  echo "$IMAGES_CACHE/layers/$diff.tar.gz sha256:$diff"
}
