"""A failed call to the seat's API server, told apart in one line naming the server (and the join file in the fix):
not reached (this machine's network), the seat's token refused (401: it expired, or the seat or its class was
removed), forbidden (403: the token is the seat's, the call is not allowed), or another error status. The doctor's
checks and `shopbox-join check` (./shopbox.sh join) say the same."""

from __future__ import annotations

from dataclasses import dataclass

from classroom.joinfile import Join
from forge.cluster.kube import ApiError
from forge.errors import ForgeError

NEW_FILE = "ask the instructor for a new join file"
NETWORK = ("check this machine's network (a proxy or VPN?); the API server is the one address of the class's "
           "cluster your machine needs to reach")


@dataclass(frozen=True)
class Refusal:
    kind: str  # "network", "token", "forbidden" or "error"
    what: str
    fix: str
    status: int | None  # the HTTP status (None: no answer)

    def line(self) -> str:
        """The one line of `shopbox-join check`: what, then the fix."""
        return f"{self.what}: {self.fix}"


def explain(join: Join, err: ForgeError) -> Refusal:
    status = err.status if isinstance(err, ApiError) else None
    server = f"the API server {join.server}"
    if status is None:  # forge's "cluster unreachable: context C at SERVER: REASON": the reason
        reason = err.message.rsplit(f"{join.server}: ", 1)[-1]
        return Refusal("network", f"{server} does not answer: {reason}", NETWORK, None)
    if status == 401:
        return Refusal("token", f"{server} refused the seat's token (401 Unauthorized): it expired, the seat or its "
                       "class was removed (class down), or the file is for another cluster",
                       f"{NEW_FILE} ({join.path} no longer works)", status)
    if status == 403:
        return Refusal("forbidden", f"{server} accepted the seat's token but forbids this call (403 Forbidden: "
                       f"{err.message})", f"ask the instructor to check seat {join.seat}'s Role and RoleBinding "
                       f"({join.path} is fine)", status)
    return Refusal("error", f"{server} answered HTTP {status}: {err.message}",
                   err.hint or "ask the instructor to look at the class's cluster", status)
