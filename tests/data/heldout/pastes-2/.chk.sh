#!/bin/bash
cd /work/main/tests/data
for u in "$@"; do a=$(grep -h '^url:' real/*.yml heldout/pastes/*.yml | grep -i -c -- "$u"); b=$(grep -h '^url:' heldout/pastes-2/*.yml 2>/dev/null | grep -i -c -- "$u"); echo "$u: old=$a mine=$b"; done
