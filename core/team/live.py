"""Version keys in Redis that tell polling pages whether anything changed.

A chat's key changes on every post, edit, delete or read; a user's key changes whenever one of
their chats does (their list and unread badge). A poll sending the current key gets 204 after
one Redis read. A flushed Redis yields a new key: the next poll simply renders once.
"""

import logging
import secrets

from redis.exceptions import RedisError

from core.jobs import redis

log = logging.getLogger(__name__)


def chat_key(chat_id: int) -> str:
    return f"team:v:chat:{chat_id}"


def seen_key(chat_id: int) -> str:
    return f"team:v:seen:{chat_id}"


def user_key(user_id: int) -> str:
    return f"team:v:user:{user_id}"


def bump(chat_id: int, user_ids) -> None:
    """Change the key of the chat and of each of its members in one round trip."""
    try:
        pipe = redis().pipeline(transaction=False)
        pipe.set(chat_key(chat_id), secrets.token_hex(6))
        for user_id in user_ids:
            pipe.set(user_key(user_id), secrets.token_hex(6))
        pipe.execute()
    except RedisError:  # pollers then re-render on their next change; never fail a post
        log.warning("could not bump team versions", exc_info=True)


def bump_user(user_id: int) -> None:
    """Change one user's key (their unread total moved)."""
    bump_keys([user_key(user_id)])


def bump_keys(keys) -> None:
    """Replace the given keys with fresh tokens."""
    try:
        pipe = redis().pipeline(transaction=False)
        for key in keys:
            pipe.set(key, secrets.token_hex(6))
        pipe.execute()
    except RedisError:
        log.warning("could not bump team versions", exc_info=True)


def version(key: str) -> str:
    """The current token of `key` (made on first use)."""
    token = secrets.token_hex(6)
    try:
        connection = redis()
        current = connection.get(key)  # one round trip in the usual case
        if current is None:
            if connection.set(key, token, nx=True):
                return token
            current = connection.get(key)
    except RedisError:
        return token
    return current.decode() if isinstance(current, bytes) else str(current or token)
