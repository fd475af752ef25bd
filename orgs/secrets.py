"""Provider secret encryption: AES-256-GCM under PROVIDER_SECRET_KEYS (newest first).

The keys are never derived from SECRET_KEY.

Each ciphertext is bound to its organization (associated data), so a row copied into another
org does not decrypt. Rotation: put a new key first, keep the old ones after it, run
`manage.py reencrypt_provider_secrets`, then drop the old keys.
"""

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

KEY_BYTES = 32
NONCE_BYTES = 12
MASK_MARK = "…"


class SecretUnavailable(Exception):
    """A stored secret cannot be decrypted with the configured keys (the message says which)."""


@dataclass(frozen=True)
class SecretKey:
    key_id: str
    cipher: AESGCM


def generate_key() -> str:
    """A new key for PROVIDER_SECRET_KEYS (URL-safe base64 of 32 random bytes)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def key_fingerprint(raw: bytes) -> str:
    return hashlib.sha256(b"prism-provider-secret-key:" + raw).hexdigest()[:12]


@lru_cache(maxsize=4)
def _parse_keys(encoded_keys: tuple[str, ...]) -> tuple[SecretKey, ...]:
    keys = []
    for position, encoded in enumerate(encoded_keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(encoded.strip().encode() + b"==")
        except ValueError:
            raw = b""
        if len(raw) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"PROVIDER_SECRET_KEYS: key {position} is not 32 bytes of URL-safe base64; "
                "generate one with `manage.py reencrypt_provider_secrets --generate-key`."
            )
        keys.append(SecretKey(key_id=key_fingerprint(raw), cipher=AESGCM(raw)))
    if not keys:
        raise ImproperlyConfigured("PROVIDER_SECRET_KEYS: set at least one key.")
    return tuple(keys)


def configured_keys() -> tuple[SecretKey, ...]:
    return _parse_keys(tuple(settings.PROVIDER_SECRET_KEYS))


def newest_key_id() -> str:
    return configured_keys()[0].key_id


def _associated_data(organization_id: int) -> bytes:
    return f"prism/provider-secret/org/{organization_id}".encode()


@sensitive_variables()
def encrypt(plaintext: str, *, organization_id: int) -> tuple[str, str]:
    """Encrypt under the newest key; returns (key_id, ciphertext as base64 text)."""
    key = configured_keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.cipher.encrypt(nonce, plaintext.encode(), _associated_data(organization_id))
    return key.key_id, base64.b64encode(nonce + sealed).decode()


@sensitive_variables()
def decrypt(ciphertext: str, *, key_id: str, organization_id: int) -> str:
    key = next((key for key in configured_keys() if key.key_id == key_id), None)
    if key is None:
        raise SecretUnavailable(
            f"encrypted under key {key_id}, which is not in PROVIDER_SECRET_KEYS; add that key "
            "back (after the newest) and run `manage.py reencrypt_provider_secrets`"
        )
    blob = base64.b64decode(ciphertext)
    try:
        plaintext = key.cipher.decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(organization_id)
        )
    except InvalidTag:
        raise SecretUnavailable(
            f"the ciphertext under key {key_id} failed authentication (altered or moved "
            "between organizations); enter the provider key again"
        ) from None
    return plaintext.decode()


@sensitive_variables()
def mask(plaintext: str) -> str:
    """`sk-…abcd`: a recognisable prefix and the last four characters, only for long secrets."""
    if len(plaintext) < 12:
        return MASK_MARK
    prefix = ""
    for separator in ("-", "_"):
        head, found, _ = plaintext.partition(separator)
        if found and 1 <= len(head) <= 4 and head.isalnum() and len(plaintext) >= 20:
            prefix = head + separator
            break
    return f"{prefix}{MASK_MARK}{plaintext[-4:]}"
