"""shopbox-setup: the part of `./shopbox.sh` that runs inside the shopbox image, not on the host.

`./shopbox.sh` keeps on the host only what must run there (Docker checks, the shell image, starting the shell) and
runs `shopbox-setup VERB` in a throwaway shopbox container that drives the host's Docker through the mounted
socket: the kind cluster and the registry (`up`), `down`, and the offline bundle (`prefetch`, `load`). Each module
has one job: `settings` (names and ports from SHOPBOX_* and versions.env), `runner` (running commands, or printing
them in a dry run), `engine` (reading the engine's state), `generated` (kind config, hosts.toml, ConfigMap),
`cluster` (up, down), `bundle` (prefetch, load), `cli`.
"""
