"""Wrong event codes, counted per client address over a sliding window: after LIMIT wrong guesses in WINDOW seconds
an address is refused (429, with when to retry) until its oldest guess leaves the window, right code or not. A
class-wide ceiling (ROOM_LIMIT) stops guessing spread over many addresses the same way."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

LIMIT = 5
ROOM_LIMIT = 60
WINDOW = 60.0


class WrongCodes:
    def __init__(self, limit: int = LIMIT, room_limit: int = ROOM_LIMIT, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.room_limit, self.window, self.clock = limit, room_limit, window, clock
        self._by_client: dict[str, deque[float]] = {}
        self._room: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, found: deque[float], now: float) -> None:
        while found and found[0] <= now - self.window:
            found.popleft()

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again (0: now)."""
        with self._lock:
            now = self.clock()
            mine = self._by_client.get(client, deque())
            self._trim(mine, now)
            self._trim(self._room, now)
            waits = [q[0] + self.window - now for q, cap in ((mine, self.limit), (self._room, self.room_limit))
                     if len(q) >= cap]
            return max(1, int(max(waits)) + 1) if waits else 0

    def wrong(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            self._by_client.setdefault(client, deque()).append(now)
            self._room.append(now)
            if len(self._by_client) > 10000:  # forget addresses whose guesses are all old
                for key in [k for k, q in self._by_client.items() if not q or q[-1] <= now - self.window]:
                    del self._by_client[key]
