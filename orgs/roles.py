"""The role list and the capability matrix of SPEC §2: every permission check reads this."""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Capability(models.TextChoices):
    """Each capability is also the codename of an object permission on Organization."""

    VIEW_OVERVIEW = "view_overview", "See dashboard overview, logs and analytics"
    VIEW_MEMBERS = "view_members", "See the member list"
    VIEW_CONFIG = "view_config", "See org config and the API key inventory"
    CREATE_KEYS = "create_keys", "Create API keys; revoke or rotate own keys"
    MANAGE_KEYS = "manage_keys", "Edit or revoke any API key"
    CHANGE_CONFIG = (
        "change_config",
        "Change providers, routing, caching, limits, budgets, IP access",
    )
    MANAGE_MEMBERS = "manage_members", "Invite members; change roles of or remove non-Owners"
    MANAGE_OWNERS = "manage_owners", "Grant or remove the Owner role; invite an Owner"
    MANAGE_ORGANIZATION = "manage_organization", "Rename the org, billing settings, delete the org"
    VIEW_AUDIT = "view_audit", "See the audit log"


_EVERYONE = {Capability.VIEW_OVERVIEW, Capability.VIEW_MEMBERS}
_MEMBER = _EVERYONE | {Capability.VIEW_CONFIG, Capability.CREATE_KEYS}
_ADMIN = _MEMBER | {
    Capability.MANAGE_KEYS,
    Capability.CHANGE_CONFIG,
    Capability.MANAGE_MEMBERS,
    Capability.VIEW_AUDIT,
}
_OWNER = _ADMIN | {Capability.MANAGE_OWNERS, Capability.MANAGE_ORGANIZATION}

ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.OWNER: frozenset(_OWNER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.MEMBER: frozenset(_MEMBER),
    Role.VIEWER: frozenset(_EVERYONE),
}

# Higher rank means more rights; used for "never invite or grant above your own role".
ROLE_RANK: dict[Role, int] = {Role.VIEWER: 10, Role.MEMBER: 20, Role.ADMIN: 30, Role.OWNER: 40}


def capability_needed_to_manage(role: str) -> Capability:
    """Touching a member who has (or is to get) this role needs the returned capability."""
    return Capability.MANAGE_OWNERS if Role(role) == Role.OWNER else Capability.MANAGE_MEMBERS


def assignable_roles(actor_capabilities: frozenset[str]) -> list[Role]:
    """The roles an actor may give to someone else (by role change or invitation)."""
    return [role for role in Role if capability_needed_to_manage(role) in actor_capabilities]


# What each capability lets a person do, in words that finish "Viewers can't …" on a refusal.
CAPABILITY_ACTIONS: dict[Capability, str] = {
    Capability.VIEW_OVERVIEW: "see the overview, logs or analytics",
    Capability.VIEW_MEMBERS: "see the member list",
    Capability.VIEW_CONFIG: "see the org config or API keys",
    Capability.CREATE_KEYS: "create API keys",
    Capability.MANAGE_KEYS: "edit or revoke other people's API keys",
    Capability.CHANGE_CONFIG: "change the org config",
    Capability.MANAGE_MEMBERS: "invite members or change their roles",
    Capability.MANAGE_OWNERS: "grant or remove the Owner role",
    Capability.MANAGE_ORGANIZATION: "rename the org, change its billing or delete it",
    Capability.VIEW_AUDIT: "see the audit log or budget alerts",
}


def _with_article(role: Role) -> str:
    return f"{'an' if role.label[0] in 'AEIOU' else 'a'} {role.label}"


def lowest_role_with(capability: Capability) -> Role:
    """The least role that holds `capability` (every capability is held by the Owner)."""
    return min(
        (role for role in Role if capability in ROLE_CAPABILITIES[role]), key=ROLE_RANK.__getitem__
    )


def refusal_sentence(role: str, capability: str) -> str:
    """What a refused person reads: what their role can't do and who can give them a role that
    can, e.g. "Viewers can't see the org config or API keys. Ask an Owner or Admin for the
    Member role." Built from the matrix above, so it stays true when a capability moves."""
    role, capability = Role(role), Capability(capability)
    needed = lowest_role_with(capability)
    grantor_capability = capability_needed_to_manage(needed)
    grantors = sorted(
        (r for r in Role if grantor_capability in ROLE_CAPABILITIES[r]),
        key=ROLE_RANK.__getitem__,
        reverse=True,
    )
    who = " or ".join([_with_article(grantors[0]), *(r.label for r in grantors[1:])])
    return (
        f"{role.label}s can't {CAPABILITY_ACTIONS[capability]}. "
        f"Ask {who} for the {needed.label} role."
    )
