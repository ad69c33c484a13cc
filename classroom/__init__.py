"""Classroom mode: one shared cluster for a whole class, a seat (namespace, credentials, registry) per participant.

`shopbox-class` (cli.py; `./shopbox.sh class ...` runs it in the shell image against the instructor's kubeconfig):
`up`, `add`, `reset`, `down`, `status`, `join-check`, `portal`, `diagnose`. One job per module: names (names,
labels, seat names), sizes (quota and limits), rbac (the seat's Role), seat (the seat namespace's objects), policy
(the admission policy), registry (a registry per seat, or an external one), joinfile (the join file), progress (the
progress record `lab` writes), model (the data), errors (the one error type), files (reading the files handed in),
api (the one seam to the cluster), facts (what the commands read first), applier (applying, and counting what
changed), up (up, add), reset, down, status; the instructor's tools: portal/ (the web portal: claims, the progress
grid, cards), claims (who has which seat), ratelimit (wrong event codes), diagnose and dryrun (a step's solve
dry-run against a seat, as a diff), checks (the steps' checks run against a seat, read-only). The participant's
side, `./shopbox.sh join`, is the package joined/. See README.md in this directory.
"""
