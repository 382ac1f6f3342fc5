"""Argon2id password hashing on its own small, bounded thread pool.

Argon2 is deliberately slow. On the default executor (asyncio.to_thread) a flood of logins
would queue ahead of every other to_thread call in the process; here it has its own threads
and a bounded queue, and past the queue a login is refused at once with RATE_LIMITED.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.errors import RateLimited

T = TypeVar("T")


class Argon2PasswordHasher:
    """argon2-cffi with its RFC 9106 low-memory profile by default."""

    def __init__(
        self,
        time_cost: int = 3,
        memory_cost_kib: int = 65536,
        threads: int = 2,
        queue: int = 32,
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._capacity = threads + queue
        self._in_flight = 0

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(self._check, password_hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, function: Callable[..., T], *args: str) -> T:
        if self._in_flight >= self._capacity:
            raise RateLimited("The server is busy checking passwords; try again in a moment.", 1)
        self._in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, function, *args)
        finally:
            self._in_flight -= 1

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
