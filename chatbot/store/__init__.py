"""Short-lived shared state: dialog state, locks, duplicate guards and one-time secrets.

Redis when REDIS_URL is set (several workers); otherwise an embedded store kept in the
database, so that a small installation also survives a restart with nothing lost.
"""

from chatbot.store.base import Store

__all__ = ["Store"]
