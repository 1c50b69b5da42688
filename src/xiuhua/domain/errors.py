"""Domain errors: each carries a stable code and a Chinese message for users."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation. ``code`` is stable; ``message`` is zh-CN for users."""

    code: str = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """Input that can never be valid (bad format, unknown value)."""

    code = "invalid_input"


class TooLarge(InvalidInput):
    """An upload over its size limit."""

    code = "too_large"


class NotFound(DomainError):
    code = "not_found"


class ActionRefused(DomainError):
    """The action is not allowed in the case's state, at this time, or for this actor."""

    code = "action_refused"


class PermissionDenied(ActionRefused):
    code = "permission_denied"


class StaleVersion(ActionRefused):
    code = "stale_version"


class BatchInvalid(InvalidInput):
    """A batch (file import) with bad items: nothing was written; one line per problem."""

    code = "batch_invalid"

    def __init__(self, message: str, problems: list[str], *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join([self.message, *self.problems])


class AuthenticationFailed(DomainError):
    """Wrong login or password, locked or disabled account, bad or revoked token."""

    code = "authentication_failed"


class TooManyRequests(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
