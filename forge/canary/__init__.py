"""Canary deployments, once deployed beside stable by `forge deploy` (profile `canary`): watch, promote, abort.

`status.collect`/`judge` (stable vs canary from Prometheus; no cluster client, so `forge canary status` starts
fast), `promote.promote` (the canary's images and version become stable), `abort.abort` (delete the canary).
"""
