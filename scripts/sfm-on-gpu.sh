#!/usr/bin/env bash
# Structure from motion's rows on a real GPU, in at most 8 minutes: the same JSON rows as
# `npm run bench:sfm` (photos placed, pose errors, seconds by stage, the adapter), computed from
# nothing (no cache), each row cut off at its share of the time. The third row is the design
# target's size: 50 photos of lego at full size (800x800, 0.64 MP), meant to pose in under a minute.
#   npm run bench:sfm:gpu
set -uo pipefail
cd "$(dirname "$0")/.."
export SLIMFIELD_REAL_GPU=1
row() {
  local seconds=$1
  shift
  echo "== bench:sfm $* (at most ${seconds} s)" >&2
  timeout "$seconds" npm run --silent bench:sfm -- --cache off "$@" || echo "{\"args\":\"$*\",\"error\":\"exit $? (124: cut off at ${seconds} s)\"}"
}
row 150 --data lego --downscale 4 --fov 39.6
row 150 --data fox --downscale 4 --fov 69.86
row 170 --data lego --downscale 1 --max-images 50 --fov 39.6
