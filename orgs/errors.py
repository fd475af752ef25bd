"""Errors with details only the orgs domain has; each is one of the kinds in prism_site.errors."""

from prism_site.errors import Conflict


class ConfigConflict(Conflict):
    """The edit started from an older version than the current one; nothing was saved."""

    def __init__(
        self,
        *,
        base_version: int,
        current_version: int,
        versions,
        changes,
        fields: list | None = None,
        taken: list[str] | None = None,
        reason: str = "",
    ):
        self.base_version = base_version
        self.current_version = current_version
        self.versions = versions
        # A merged form edit: the fields both sides changed, and those that took the current
        # values (config paths). Empty when the edit was not merged.
        self.fields = fields or []
        self.taken = taken or []
        authors = sorted({version.author_email or "someone" for version in versions})
        if base_version > current_version or not versions:
            message = (
                f"Version {base_version} is not a saved version (the current one is "
                f"{current_version}); nothing was saved. Reload and edit the current version."
            )
        else:
            saved = (
                f"version {current_version} was"
                if len(versions) == 1
                else f"versions {base_version + 1}–{current_version} were"
            )
            message = (
                f"Conflict: {saved} saved by {', '.join(authors)} after you started editing "
                f"version {base_version}, so your change was not saved."
            )
        if reason:
            message = f"{message} {reason}"
        super().__init__(message, changes=changes)
