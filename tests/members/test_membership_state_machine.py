"""Membership operations as a state machine: random sequences of invite, accept, revoke, role
change, remove and leave (alone and two at once) against the real services, checked after every
step against a model of SPEC §2 and against the guardian grants.

The world is one organization and five accounts, built once. Each sequence starts from a drawn
set of memberships. The model predicts every outcome (done, or which refusal) and the state that
follows; after each step the database must equal the model: memberships, the org keeps an Owner,
each person's guardian permissions on the org are exactly their role's capabilities (none for a
non-member), open invitations with their live links, invitation emails counted by the daily
limits, and one audit entry per change.

"At once" is real on PostgreSQL: two threads with their own connections start the two calls
together, and the result must be one of the two serial orders (the services lock the org row
first). Those threads only see committed rows, so there each sequence commits and its rows are
deleted after it. On SQLite the two calls run one after the other, in a drawn order, and each
sequence runs in a savepoint rolled back after it.

PRISM_STATE_MACHINE_EXAMPLES sets how many sequences run (`make fuzz` runs 1,000).
"""

import copy
import os
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from members import services
from members.errors import InvitationUnusable
from members.models import Invitation, InvitationEmail, User, token_digest
from orgs.models import (
    AuditEvent,
    Membership,
    OrganizationGroupObjectPermission,
    OrganizationUserObjectPermission,
)
from orgs.permissions import organization_permissions
from orgs.roles import ROLE_CAPABILITIES, Capability, Role, capability_needed_to_manage
from orgs.services import membership_add
from prism_site.actor import Actor
from prism_site.errors import DomainError, NotFound, RateLimited, Refused
from tests.factories import make_organization, make_user

RACING = connection.vendor == "postgresql"
# 50 sequences a run in the suite (100 cost 5-7 s of CPU on SQLite, 8-11 s on PostgreSQL, and
# 11 s of wall time of a two-core suite that must stay under 3 minutes); `make fuzz` runs 1,000.
EXAMPLES = int(os.environ.get("PRISM_STATE_MACHINE_EXAMPLES", "50"))
STEPS = 10
PEOPLE = 5
BASE_URL = "http://testserver/"

pytestmark = pytest.mark.django_db(transaction=RACING)

CAPABILITIES = {
    role: frozenset(capability.value for capability in capabilities)
    for role, capabilities in ROLE_CAPABILITIES.items()
}
MANAGERS = {role for role, capabilities in CAPABILITIES.items() if "manage_members" in capabilities}


def email_of(person: int) -> str:
    return f"person{person}@state-machine.test"


# -- Operations and what came of them ---------------------------------------------------------


@dataclass(frozen=True)
class Invite:
    actor: int
    person: int
    role: Role


@dataclass(frozen=True)
class Accept:
    actor: int
    token: str = field(repr=False)


@dataclass(frozen=True)
class Revoke:
    actor: int
    invitation_id: int


@dataclass(frozen=True)
class ChangeRole:
    actor: int
    person: int
    role: Role


@dataclass(frozen=True)
class Remove:
    actor: int
    person: int


@dataclass(frozen=True)
class Leave:
    actor: int


@dataclass(frozen=True)
class Outcome:
    """What an operation came to: `kind` is compared with the model's prediction; an issued
    invitation also brings its (random) link and id, which the model cannot predict."""

    kind: str
    token: str = field(default="", repr=False)
    invitation_id: int | None = None


# Refusals told apart by their words, where no code or capability names them.
REFUSAL_WORDS = {
    "at least one Owner": "last_owner",
    "cannot change your own role": "own_role",
    "To remove yourself": "remove_self",
    "are not a member of this organization": "not_member",
    "only an Owner can invite an Owner": "invite_owner",
    "was already accepted": "invitation_accepted",
    "was already revoked": "invitation_revoked",
}


def refusal_kind(error: DomainError) -> str:
    if isinstance(error, InvitationUnusable):
        return f"unusable:{error.reason}"
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, Refused) and error.capability:
        return f"refused:{error.capability}"
    for words, kind in REFUSAL_WORDS.items():
        if words in error.message:
            return f"refused:{kind}"
    return f"unexpected {type(error).__name__}: {error.message}"


# -- The model ------------------------------------------------------------------------------------


@dataclass
class ModelInvitation:
    person: int
    role: Role
    inviter: int
    token: str = field(repr=False)
    status: str = "open"  # open | accepted | revoked


@dataclass
class Model:
    """SPEC §2 and the invitation rules, as plain data. `run` mirrors each service's checks in
    the order the service makes them and returns the outcome kind it predicts."""

    roles: dict[int, Role] = field(default_factory=dict)
    invitations: dict[int, ModelInvitation] = field(default_factory=dict)
    # Every link ever issued -> its invitation; a refreshed invitation's old link is dead.
    tokens: dict[str, int] = field(default_factory=dict, repr=False)
    emails_sent: Counter = field(default_factory=Counter)
    emails_by_sender: Counter = field(default_factory=Counter)
    audit_entries: int = 0

    def capabilities(self, person: int) -> frozenset[str]:
        role = self.roles.get(person)
        return CAPABILITIES[role] if role else frozenset()

    def owners(self) -> int:
        return sum(role == Role.OWNER for role in self.roles.values())

    def open_invitation(self, person: int) -> int | None:
        for pk, invitation in self.invitations.items():
            if invitation.person == person and invitation.status == "open":
                return pk
        return None

    def _manage_refusal(self, actor: int, roles) -> str | None:
        for role in roles:
            needed = capability_needed_to_manage(role).value
            if needed not in self.capabilities(actor):
                return f"refused:{needed}"
        return None

    def _invite_refusal(self, actor: int, role: Role) -> str | None:
        if Capability.MANAGE_MEMBERS.value not in self.capabilities(actor):
            return "refused:manage_members"
        if capability_needed_to_manage(role).value not in self.capabilities(actor):
            return "refused:invite_owner"
        return None

    def run(self, op, outcome: Outcome) -> str:
        """Apply `op` to the model; return the outcome kind the rules give. `outcome` (what the
        service did) only supplies the new link and id of an issued invitation."""
        match op:
            case Invite(actor, person, role):
                if refusal := self._invite_refusal(actor, role):
                    return refusal
                if person in self.roles:
                    return "already_member"
                pending = self.open_invitation(person)
                if pending is not None and self._invite_refusal(
                    actor, self.invitations[pending].role
                ):
                    return "pending_not_yours"
                if (
                    sum(self.emails_sent.values()) + 1 > services.DAILY_LIMIT_PER_ORGANIZATION
                    or self.emails_by_sender[actor] + 1 > services.DAILY_LIMIT_PER_INVITER
                    or self.emails_sent[person] >= services.DAILY_LIMIT_PER_ADDRESS
                ):
                    return "rate_limited"
                self.emails_sent[person] += 1
                self.emails_by_sender[actor] += 1
                self.audit_entries += 1
                if outcome.token:
                    self.tokens[outcome.token] = outcome.invitation_id
                if pending is None:
                    self.invitations[outcome.invitation_id] = ModelInvitation(
                        person, role, actor, outcome.token
                    )
                    return "issued"
                invitation = self.invitations[pending]
                invitation.role, invitation.inviter = role, actor
                invitation.token = outcome.token
                return "refreshed"

            case Accept(actor, token):
                pk = self.tokens[token]
                invitation = self.invitations[pk]
                if invitation.token != token:
                    return "unusable:not_found"
                if invitation.status == "revoked":
                    return "unusable:revoked"
                if invitation.status == "accepted":
                    return "unusable:accepted"
                if actor != invitation.person:
                    return "unusable:wrong_account"
                if actor not in self.roles:
                    needed = capability_needed_to_manage(invitation.role).value
                    if needed not in self.capabilities(invitation.inviter):
                        return "unusable:no_longer_valid"
                invitation.status = "accepted"
                self.audit_entries += 1
                if actor in self.roles:
                    return "already_member"
                self.roles[actor] = invitation.role
                return "joined"

            case Revoke(actor, invitation_id):
                invitation = self.invitations[invitation_id]
                if invitation.status == "accepted":
                    return "refused:invitation_accepted"
                if invitation.status == "revoked":
                    return "refused:invitation_revoked"
                if refusal := self._invite_refusal(actor, invitation.role):
                    return refusal
                invitation.status = "revoked"
                self.audit_entries += 1
                return "revoked"

            case ChangeRole(actor, person, role):
                if person not in self.roles:
                    return "not_found"
                if person == actor:
                    return "refused:own_role"
                if refusal := self._manage_refusal(actor, [self.roles[person], role]):
                    return refusal
                if self.roles[person] == role:
                    return "role_set"  # nothing to do, nothing audited
                if self.roles[person] == Role.OWNER and self.owners() <= 1:
                    return "refused:last_owner"
                self.roles[person] = role
                self.audit_entries += 1
                return "role_set"

            case Remove(actor, person):
                if person not in self.roles:
                    return "not_found"
                if person == actor:
                    return "refused:remove_self"
                if refusal := self._manage_refusal(actor, [self.roles[person]]):
                    return refusal
                if self.roles[person] == Role.OWNER and self.owners() <= 1:
                    return "refused:last_owner"
                del self.roles[person]
                self.audit_entries += 1
                return "removed"

            case Leave(actor):
                if actor not in self.roles:
                    return "refused:not_member"
                if self.roles[actor] == Role.OWNER and self.owners() <= 1:
                    return "refused:last_owner"
                del self.roles[actor]
                self.audit_entries += 1
                return "left"
        raise AssertionError(f"no rule for {op}")

    def picture(self) -> dict:
        """The state as the database must show it (see `database_picture`)."""
        return {
            "roles": dict(self.roles),
            # Each member sits in the group of their role only, and holds its capabilities;
            # a non-member (never one, or removed) in no group and holds nothing.
            "groups": {person: {role} for person, role in self.roles.items()},
            "rights": {person: set(CAPABILITIES[role]) for person, role in self.roles.items()},
            "invitations": {
                pk: (invitation.person, invitation.role, invitation.inviter, invitation.status)
                for pk, invitation in self.invitations.items()
            },
            "live_links": {
                pk: token_digest(invitation.token) for pk, invitation in self.invitations.items()
            },
            "emails_sent": {person: n for person, n in self.emails_sent.items() if n},
            "audit_entries": self.audit_entries,
            "personal_grants": [],
        }


# -- The world and the services ---------------------------------------------------------------


class World:
    """The organization and the five accounts every sequence acts in."""

    def __init__(self):
        founder = make_user(email_of(0))
        self.organization = make_organization("State machine", owner=founder)
        self.people = [founder] + [make_user(email_of(n)) for n in range(1, PEOPLE)]
        self.person_of = {user.pk: n for n, user in enumerate(self.people)}
        self.person_of_email = {user.email: n for n, user in enumerate(self.people)}
        self.clear()
        organization = self.organization
        # What `database_picture` reads after every step, compiled to SQL once: compiling the
        # querysets cost more than running them.
        self.reads = [
            query.query.get_compiler(connection=connection).as_sql()
            for query in (
                Membership.objects.filter(organization=organization).values_list(
                    "user_id", "role", "pk"
                ),
                # The org's role groups each person sits in, and the capabilities guardian
                # grants them on the org through those groups: what `organization_permissions`
                # reads, for everyone at once.
                OrganizationGroupObjectPermission.objects.filter(
                    content_object=organization, group__user__in=self.people
                ).values_list("group__user", "group__role_group__role", "permission__codename"),
                Invitation.objects.filter(organization=organization).values_list(
                    "pk",
                    "email",
                    "role",
                    "invited_by_id",
                    "token_hash",
                    "accepted_at",
                    "revoked_at",
                ),
                InvitationEmail.objects.filter(organization=organization).values_list("email"),
                AuditEvent.objects.filter(organization=organization).values_list("pk"),
                # Rights on the org come from role groups only, never granted to one person.
                OrganizationUserObjectPermission.objects.filter(
                    content_object=organization
                ).values_list("user", "permission__codename"),
            )
        ]

    def clear(self):
        """No members, invitations, emails or audit entries: where each committed sequence starts
        (a savepoint rollback does this on SQLite)."""
        organization = self.organization
        with transaction.atomic():
            User.groups.through.objects.filter(
                group__role_group__organization=organization
            ).delete()
            Membership.objects.filter(organization=organization).delete()
            InvitationEmail.objects.filter(organization=organization).delete()
            Invitation.objects.filter(organization=organization).delete()
            AuditEvent.objects.filter(organization=organization).delete()

    def join(self, roles: dict[int, Role]):
        with transaction.atomic():
            for person, role in roles.items():
                membership_add(organization=self.organization, user=self.people[person], role=role)

    def perform(self, op, membership_ids: dict[int, int]) -> Outcome:
        """Call the service for `op`; a domain error becomes the outcome, anything else raises."""
        organization = self.organization
        actor = Actor(self.people[op.actor])
        try:
            match op:
                case Invite(_, person, role):
                    batch = services.invitations_send(
                        organization=organization,
                        emails=[email_of(person)],
                        role=role,
                        actor=actor,
                        base_url=BASE_URL,
                    )
                    if batch.already_members:
                        return Outcome("already_member")
                    if batch.refused:
                        return Outcome("pending_not_yours")
                    (issued,) = batch.issued
                    return Outcome(
                        "refreshed" if issued.refreshed else "issued",
                        token=issued.token,
                        invitation_id=issued.invitation.pk,
                    )
                case Accept(_, token):
                    accepted = services.invitation_accept(token=token, actor=actor)
                    return Outcome("already_member" if accepted.already_member else "joined")
                case Revoke(_, invitation_id):
                    services.invitation_revoke(
                        organization=organization, invitation_id=invitation_id, actor=actor
                    )
                    return Outcome("revoked")
                case ChangeRole(_, person, role):
                    services.membership_change_role(
                        organization=organization,
                        membership_id=membership_ids.get(person, 0),
                        role=role,
                        actor=actor,
                    )
                    # Whether the role was already that one shows in the audit count.
                    return Outcome("role_set")
                case Remove(_, person):
                    services.membership_remove(
                        organization=organization,
                        membership_id=membership_ids.get(person, 0),
                        actor=actor,
                    )
                    return Outcome("removed")
                case Leave():
                    services.membership_leave(organization=organization, actor=actor)
                    return Outcome("left")
        except DomainError as error:
            return Outcome(refusal_kind(error))
        raise AssertionError(f"no service for {op}")

    def database_picture(self) -> tuple[dict, dict[int, int]]:
        """The state in the database, shaped like `Model.picture`, and each member's membership
        id."""
        results = []
        with connection.cursor() as cursor:
            for sql, params in self.reads:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
        memberships, grants, invitation_rows, email_rows, audit_rows, personal_grants = results
        roles = {self.person_of[user_id]: Role(role) for user_id, role, _ in memberships}
        membership_ids = {self.person_of[user_id]: pk for user_id, _, pk in memberships}
        groups, rights = {}, {}
        for user_id, role, codename in grants:
            person = self.person_of[user_id]
            groups.setdefault(person, set()).add(Role(role))
            rights.setdefault(person, set()).add(codename)
        invitations, live_links = {}, {}
        for pk, email, role, inviter_id, token_hash, accepted_at, revoked_at in invitation_rows:
            status = "accepted" if accepted_at else "revoked" if revoked_at else "open"
            invitations[pk] = (
                self.person_of_email[email],
                Role(role),
                self.person_of[inviter_id],
                status,
            )
            live_links[pk] = token_hash
        picture = {
            "roles": roles,
            "groups": groups,
            "rights": rights,
            "invitations": invitations,
            "live_links": live_links,
            "emails_sent": dict(Counter(self.person_of_email[email] for (email,) in email_rows)),
            "audit_entries": len(audit_rows),
            "personal_grants": personal_grants,
        }
        return picture, membership_ids


class RacingPair:
    """Two threads, each with its own database connection, kept for the whole run: `run` hands
    each a call and releases both at once."""

    def __init__(self):
        self.barrier = threading.Barrier(2)
        self.inboxes = [queue.SimpleQueue(), queue.SimpleQueue()]
        self.outboxes = [queue.SimpleQueue(), queue.SimpleQueue()]
        self.threads = [
            threading.Thread(target=self._serve, args=(n,), daemon=True) for n in range(2)
        ]
        for thread in self.threads:
            thread.start()

    def _serve(self, number: int):
        try:
            with connection.cursor() as cursor:
                # Each sequence's rows are deleted after it: no commit needs to reach the disk.
                cursor.execute("SET synchronous_commit TO OFF")
            while (work := self.inboxes[number].get()) is not None:
                try:
                    self.barrier.wait()
                    result = work()
                except BaseException as error:  # noqa: BLE001 - handed to the test to raise
                    result = error
                self.outboxes[number].put(result)
        finally:
            connection.close()

    def run(self, first, second) -> list:
        self.inboxes[0].put(first)
        self.inboxes[1].put(second)
        results = [self.outboxes[0].get(), self.outboxes[1].get()]
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

    def close(self):
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join()


# -- The machine ----------------------------------------------------------------------------------

# Every rule draws the same values whatever the state, and no rule has a precondition: on
# PostgreSQL the order two racing calls took (hence the state after them) differs between runs,
# and Hypothesis requires a replayed sequence to draw exactly as it did the first time. What a
# draw picks in the state (a member, a link) is taken modulo the choices there are.
picks = st.integers(0, 255)
roles = st.sampled_from(list(Role))
KINDS = (Invite, Accept, Revoke, ChangeRole, Remove, Leave)


@dataclass(frozen=True)
class Draw:
    """One operation's raw draws; `MembershipMachine.operation` reads them in the state."""

    kind: type
    actor: int
    person: int
    role: Role
    link: int
    as_invitee: bool


def draws(kinds=KINDS):
    return st.builds(Draw, st.sampled_from(kinds), picks, picks, roles, picks, st.booleans())


class MembershipMachine(RuleBasedStateMachine):
    world: World
    racing_pair: RacingPair | None = None
    counts: Counter

    def __init__(self):
        super().__init__()
        self.model = Model()
        self.membership_ids: dict[int, int] = {}
        self.checked = 0
        self.savepoint = None if RACING else transaction.savepoint_create()
        self.counts["sequences"] += 1

    def teardown(self):
        if RACING:
            self.world.clear()
        else:
            transaction.savepoint_rollback(self.savepoint)

    # Owners and Admins are drawn more often than the others: races between two of them are
    # the ones the rules decide by who goes first.
    @initialize(
        members=st.lists(
            st.sampled_from([None, None, Role.OWNER, Role.OWNER, Role.ADMIN, *Role]),
            min_size=PEOPLE,
            max_size=PEOPLE,
        ),
        owner=picks,
    )
    def start(self, members, owner):
        members = {person: role for person, role in enumerate(members) if role}
        members[owner % PEOPLE] = Role.OWNER
        self.world.join(members)
        self.model.roles = dict(members)
        self.membership_ids = self.world.database_picture()[1]

    # -- reading draws in the state --

    def _pick(self, pick: int, among: list[int]) -> int:
        """Two draws in three take someone of `among` (when there is anyone), the rest anyone."""
        if among and pick % 3:
            return among[pick // 3 % len(among)]
        return pick % PEOPLE

    def operation(self, draw: Draw):
        """The operation `draw` makes in the current state, or None (a link with none issued).
        Actors are mostly members, so most steps get past "not a member" to the rules that
        matter; targets mostly other members, invitees mostly non-members; links and
        invitations by position in the order issued (the links themselves differ on every
        run)."""
        members = sorted(self.model.roles)
        actor = self._pick(draw.actor, members)
        person = self._pick(draw.person, [p for p in members if p != actor])
        if draw.kind in (Accept, Revoke):
            if not self.model.tokens:
                return None
            links = list(self.model.tokens)
            token = links[draw.link % len(links)]
            invitation_id = self.model.tokens[token]
            if draw.kind is Revoke:
                return Revoke(actor, invitation_id)
            invitee = self.model.invitations[invitation_id].person
            return Accept(invitee if draw.as_invitee else draw.actor % PEOPLE, token)
        if draw.kind is Invite:
            outsiders = [p for p in range(PEOPLE) if p not in self.model.roles]
            return Invite(actor, self._pick(draw.person, outsiders), draw.role)
        if draw.kind is ChangeRole:
            return ChangeRole(actor, person, draw.role)
        if draw.kind is Remove:
            return Remove(actor, person)
        return Leave(actor)

    # -- one operation at a time --

    def _step(self, draw) -> str | None:
        """One operation (given, or read from a Draw): the service's outcome must be the
        model's."""
        op = self.operation(draw) if isinstance(draw, Draw) else draw
        if op is None:
            return None
        self.counts["steps"] += 1
        outcome = self.world.perform(op, self.membership_ids)
        expected = self.model.run(op, outcome)
        self.counts[expected] += 1
        assert outcome.kind == expected, f"{op}: the service said {outcome.kind}"
        return outcome.kind

    @rule(draw=draws([Invite]))
    def invite(self, draw):
        self._step(draw)

    @rule(draw=draws([Accept]))
    def accept(self, draw):
        self._step(draw)

    @rule(draw=draws([Invite]))
    def invite_and_accept(self, draw):
        """An invitation and, if one went out, its invitee following the link."""
        if self._step(draw) in ("issued", "refreshed"):
            token = list(self.model.tokens)[-1]
            invitee = self.model.invitations[self.model.tokens[token]].person
            self._step(Accept(invitee, token))

    @rule(draw=draws([Revoke]))
    def revoke(self, draw):
        self._step(draw)

    @rule(draw=draws([ChangeRole]))
    def change_role(self, draw):
        self._step(draw)

    @rule(draw=draws([Remove]))
    def remove(self, draw):
        self._step(draw)

    @rule(draw=draws([Leave]))
    def leave(self, draw):
        self._step(draw)

    # -- two at once --

    def _race(self, first, second, *, reverse: bool):
        """Run both at once (PostgreSQL) or in the drawn order (SQLite); the outcomes and the
        state must be those of one serial order."""
        if first is None or second is None:
            return
        self.counts["steps"] += 1
        self.counts["races"] += 1
        ops, ids = (first, second), dict(self.membership_ids)
        if self.racing_pair:
            # Which thread is handed which call is drawn too: the first thread released tends
            # to reach the org's lock first.
            calls = [partial(self.world.perform, op, ids) for op in ops]
            outcomes = self.racing_pair.run(*(calls[::-1] if reverse else calls))
            outcomes = outcomes[::-1] if reverse else outcomes
            allowed = [(0, 1), (1, 0)]
        else:
            allowed = [(1, 0) if reverse else (0, 1)]
            outcomes = [None, None]
            for n in allowed[0]:
                outcomes[n] = self.world.perform(ops[n], ids)
        picture, _ = self.world.database_picture()
        serial = {}
        for order in [(0, 1), (1, 0)]:
            model = copy.deepcopy(self.model)
            kinds = [None, None]
            for n in order:
                kinds[n] = model.run(ops[n], outcomes[n])
            if kinds == [outcome.kind for outcome in outcomes] and model.picture() == picture:
                serial[order] = model
        assert any(order in serial for order in allowed), (
            f"{first} and {second} at once gave {[o.kind for o in outcomes]} and {picture}, "
            f"which {'no serial order' if self.racing_pair else 'their order'} gives"
        )
        if len(serial) > 1:
            self.counts["either order"] += 1
        else:
            self.counts["first went first" if (0, 1) in serial else "second went first"] += 1
        self.model = next(model for order, model in serial.items() if order in allowed)

    def _promote_until_two(self, wanted: set[Role], role: Role):
        """Real, checked steps until two members hold a role of `wanted`: an Owner gives
        `role` to a member who lacks it, or invites someone with it who then accepts. The races
        between two Owners or Admins need two of them."""
        for _ in range(2):
            if len(self._members_with(wanted)) >= 2:
                return
            owner = self._members_with({Role.OWNER})[0]
            # Owners stay Owners: demoting one is a race of its own.
            others = sorted(
                person
                for person, held in self.model.roles.items()
                if held not in wanted and held != Role.OWNER
            )
            outsiders = [person for person in range(PEOPLE) if person not in self.model.roles]
            if others:
                self._step(ChangeRole(owner, others[0], role))
            elif outsiders:
                if self._step(Invite(owner, outsiders[0], role)) in ("issued", "refreshed"):
                    self._step(Accept(outsiders[0], list(self.model.tokens)[-1]))
            else:
                return
            self.membership_ids = self.world.database_picture()[1]

    def _live_links(self) -> list[str]:
        return [
            token
            for token, pk in self.model.tokens.items()
            if self.model.invitations[pk].status == "open"
            and self.model.invitations[pk].token == token
        ]

    def _members_with(self, wanted_roles) -> list[int]:
        return sorted(person for person, role in self.model.roles.items() if role in wanted_roles)

    @rule(
        peers=st.sampled_from([Role.OWNER, Role.ADMIN]),
        first=picks,
        second=picks,
        role=st.sampled_from([Role.ADMIN, Role.MEMBER, Role.VIEWER]),
        remove=st.booleans(),
        reverse=st.booleans(),
    )
    def race_demote_each_other(self, peers, first, second, role, remove, reverse):
        """Two Owners, or two Admins, demote each other, or one demotes the other while being
        removed by them, at the same moment."""
        self._promote_until_two({peers}, peers)
        holders = self._members_with({peers})
        first = self._pick(first, holders)
        second = self._pick(second, [p for p in holders if p != first])
        self._race(
            ChangeRole(first, second, role),
            Remove(second, first) if remove else ChangeRole(second, first, Role.VIEWER),
            reverse=reverse,
        )

    @rule(first=picks, second=picks, move=st.integers(0, 2), reverse=st.booleans())
    def race_owners_leave(self, first, second, move, reverse):
        """Two Owners (often the last two) leave, or one leaves while the other removes or
        demotes them; now and then one Owner leaves twice at once."""
        self._promote_until_two({Role.OWNER}, Role.OWNER)
        owners = self._members_with({Role.OWNER})
        first = self._pick(first, owners)
        second = self._pick(second, [p for p in owners if p != first])
        second_move = (Leave(second), Remove(second, first), ChangeRole(second, first, Role.ADMIN))
        self._race(Leave(first), second_move[move], reverse=reverse)

    @rule(link=picks, other=picks, move=st.integers(0, 2), role=roles, reverse=st.booleans())
    def race_accept(self, link, other, move, role, reverse):
        """An invitee follows their link while a manager revokes the invitation, the inviter is
        demoted (or leaves), or the invitation is sent again (a new link)."""
        outsiders = [p for p in range(PEOPLE) if p not in self.model.roles]
        if outsiders and not self._live_links():
            owner = self._members_with({Role.OWNER})[0]
            self._step(Invite(owner, outsiders[link % len(outsiders)], role))
        live = self._live_links()
        if not live:
            return
        token = live[link % len(live)]
        invitation_id = self.model.tokens[token]
        invitation = self.model.invitations[invitation_id]
        actor = self._pick(other, self._members_with(MANAGERS))
        if move == 0:
            second = Revoke(actor, invitation_id)
        elif move == 1:
            inviter = invitation.inviter
            second = Leave(inviter) if actor == inviter else ChangeRole(actor, inviter, Role.MEMBER)
        else:
            second = Invite(actor, invitation.person, role)
        self._race(Accept(invitation.person, token), second, reverse=reverse)

    @rule(first=draws(), second=draws(), reverse=st.booleans())
    def race_any(self, first, second, reverse):
        """Any two operations, also of one person (two tabs, a double submit)."""
        self._race(self.operation(first), self.operation(second), reverse=reverse)

    # -- after every step --

    @invariant()
    def database_equals_the_model(self):
        picture, self.membership_ids = self.world.database_picture()
        assert picture == self.model.picture()

    @invariant()
    def an_owner_remains(self):
        assert self.model.owners() >= 1

    @invariant()
    def rights_read_as_checks_read_them(self):
        """`organization_permissions`, which every check calls, gives one person (in turn)
        exactly their role's capabilities, none if they are not a member; the picture above
        reads the same grants for everyone at once."""
        person = self.checked % PEOPLE
        self.checked += 1
        held = organization_permissions(self.world.people[person], self.world.organization)
        assert held == self.model.capabilities(person), (
            f"person {person} ({self.model.roles.get(person, 'not a member')}) holds {held}"
        )


def test_membership_state_machine():
    started, cpu_started = time.perf_counter(), time.process_time()
    MembershipMachine.world = World()
    MembershipMachine.counts = Counter()
    if RACING:
        # This test's rows are flushed after it: its commits need not reach the disk.
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
        MembershipMachine.racing_pair = RacingPair()
    try:
        run_state_machine_as_test(
            MembershipMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        if MembershipMachine.racing_pair:
            MembershipMachine.racing_pair.close()
            MembershipMachine.racing_pair = None
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
    counts = MembershipMachine.counts
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"\nmembership state machine ({connection.vendor}): {counts['sequences']} sequences, "
        f"{counts['steps']} steps ({counts['races']} two at once: "
        f"{counts['first went first']} first call first, "
        f"{counts['second went first']} second call first, {counts['either order']} alike in "
        f"either order) in {elapsed:.1f} s ({cpu:.1f} s CPU)"
    )
    print(
        "  outcomes: "
        + ", ".join(
            f"{kind} {n}"
            for kind, n in counts.most_common()
            if kind not in {"sequences", "steps", "races"}
        )
    )
    assert counts["sequences"] >= EXAMPLES
    assert counts["races"] > 0
