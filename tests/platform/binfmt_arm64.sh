#!/usr/bin/env bash
# Lets this amd64 test machine run linux/arm64 binaries and containers under emulation (the arm64 images of
# tests/arm64/): registers Debian's qemu-user-static interpreter for aarch64 ELF files with binfmt_misc.
# An accommodation of the test machine, like the runc wrapper of start.sh (Docker Desktop and most arm64 hosts need
# nothing of the kind). Idempotent: does nothing when the entry is already registered as wanted.
#
# The entry is Debian's own (/usr/lib/binfmt.d/qemu-aarch64.conf: magic, mask, interpreter) with the fix-binary
# flag F, so the kernel opens the interpreter once, here, and any container (whose filesystem has no qemu) can use it.
# Nothing starts systemd-binfmt on these machines, so nothing else registers it.
set -euo pipefail

# The entry's source and the kernel's binfmt_misc directory (other values only for its unit test,
# tests/platform/test_binfmt_arm64.py).
conf=${SHOPBOX_BINFMT_CONF:-/usr/lib/binfmt.d/qemu-aarch64.conf}
dir=${SHOPBOX_BINFMT_DIR:-/proc/sys/fs/binfmt_misc}
name=qemu-aarch64

[[ $(uname -m) != aarch64 ]] || exit 0  # native arm64: nothing to emulate
[[ -r $conf ]] || { echo "binfmt_arm64.sh: $conf is missing (install qemu-user-static: tests/platform/install.sh)" >&2; exit 1; }
if [[ ! -e $dir/register ]]; then
  mount -t binfmt_misc binfmt_misc "$dir" \
    || { echo "binfmt_arm64.sh: cannot mount binfmt_misc on $dir (needs root and CONFIG_BINFMT_MISC)" >&2; exit 1; }
fi

# :name:type:offset:magic:mask:interpreter:flags, with F added to Debian's flags
line=$(grep -v '^#' "$conf" | grep ":$name:")
IFS=: read -r _ _ _ _ _ _ interpreter flags <<<"$line"
[[ $flags == *F* ]] || flags+=F
line="${line%:*}:$flags"

registered() {  # the entry exists, is enabled, runs this interpreter and has every flag wanted
  local entry=$dir/$name have i
  [[ -r $entry ]] || return 1
  grep -qx enabled "$entry" && grep -qx "interpreter $interpreter" "$entry" || return 1
  have=$(sed -n 's/^flags: //p' "$entry")
  for ((i = 0; i < ${#flags}; i++)); do
    [[ $have == *"${flags:i:1}"* ]] || return 1
  done
}

if registered; then
  exit 0
fi
[[ ! -e $dir/$name ]] || echo -1 >"$dir/$name"  # an entry with other flags or another interpreter: replace it
printf '%s' "$line" >"$dir/register"
registered || { echo "binfmt_arm64.sh: $name did not register as wanted:" >&2; cat "$dir/$name" >&2; exit 1; }
echo "binfmt_arm64.sh: registered $name ($interpreter, flags $flags)"
