"""The domain errors services raise, in the product's words and free of HTTP.

Five kinds, one meaning each; `prism_site/error_responses.py` turns them into pages and htmx
answers, and the JSON APIs map the same classes to their error envelope:

- NotFound: the thing does not exist here (gone, or in another organization).
- Refused: a rule forbids this caller this action; `capability` names what is missing, if a
  capability is what is missing.
- Conflict: the action clashes with a change made meanwhile or with existing data.
- Invalid: input fails validation; `errors` maps each field path to its messages.
- RateLimited: too many attempts; `retry_after_seconds` says when to try again.
"""

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """What went wrong, said so that the person who reads it knows what to do next."""

    # A stable word for machines (the API's `error.code`); subclasses refine it.
    code = "error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class Refused(DomainError):
    code = "refused"

    def __init__(self, message: str, *, capability: str | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.capability = capability


class Conflict(DomainError):
    code = "conflict"

    def __init__(self, message: str, *, changes: Sequence = (), code: str | None = None):
        super().__init__(message, code=code)
        self.changes = list(changes)


class Invalid(DomainError):
    code = "invalid"

    def __init__(
        self,
        message: str = "",
        *,
        errors: Mapping[str, Sequence[str]] | None = None,
        code: str | None = None,
    ):
        self.errors = {path: list(messages) for path, messages in (errors or {}).items()}
        if not message:
            message = " ".join(
                text if text.startswith(f"{path}:") or not path else f"{path}: {text}"
                for path, texts in self.errors.items()
                for text in texts
            )
        super().__init__(message, code=code)


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after_seconds = retry_after_seconds
