"""The admin API's organizations and config: list and create orgs, read and change the config
document (merge patch, whole document, If-Match), its versions and restores.

Each route reaches the org through `api_organization` (404 / 403 as the pages) and calls the
services and selectors the Settings > Organization page calls; provider keys are only ever masked.
"""

from datetime import datetime
from typing import Any

from django.http import JsonResponse
from ninja import Router, Schema

from orgs import selectors, services
from orgs.api_access import ApiCaller, api_organization
from orgs.api_requests import Answer, idempotency_key_read, idempotent
from orgs.config_schema import ROOT, ConfigInvalid, masked_document
from orgs.errors import ConfigConflict
from orgs.forms import OrganizationNameForm, whole_number
from orgs.models import ConfigVersion, Organization
from orgs.roles import Capability, Role
from prism_site.api_errors import ADMIN_ERRORS, ApiError
from prism_site.api_http import (
    if_match_version,
    json_body_doc,
    json_object,
    read_body,
    version_etag,
)
from prism_site.errors import NotFound, Refused

router = Router(tags=["organizations"])

VERSIONS_PAGE_SIZE = 20


class OrganizationOut(Schema):
    id: str  # the slug: what every /v1/orgs/{org_id}/… URL takes
    name: str
    role: str  # the caller's role there (a key: its creator's)
    created_at: datetime


class OrganizationList(Schema):
    data: list[OrganizationOut]
    next_cursor: str | None


class OrganizationIn(Schema):
    name: str


class ConfigOut(Schema):
    org_id: str
    version: int
    config: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None


class ConfigIn(Schema):
    config: dict[str, Any]
    message: str = ""


class VersionOut(Schema):
    version: int
    created_at: datetime
    author: str | None
    message: str
    section: str
    restored_from: int | None


class VersionList(Schema):
    data: list[VersionOut]
    next_cursor: str | None


class VersionDocumentOut(VersionOut):
    config: dict[str, Any]


# -- Answers -------------------------------------------------------------------------------------


def _organization_out(organization: Organization, role: str) -> dict:
    return {
        "id": organization.slug,
        "name": organization.name,
        "role": role,
        "created_at": organization.created_at,
    }


def _version_out(version: ConfigVersion) -> dict:
    return {
        "version": version.number,
        "created_at": version.created_at,
        "author": version.author_email or None,
        "message": version.message,
        "section": version.section,
        "restored_from": version.restored_from,
    }


def _config_answer(
    organization: Organization, *, current: selectors.CurrentConfig | None = None
) -> JsonResponse:
    """The config in force, keys masked, with its version as the ETag: `current` when the
    caller has it, else read (after a write, which has just moved it)."""
    if current is None:
        current = selectors.config_current(organization)
    version = current.version
    body = {
        "org_id": organization.slug,
        "version": current.number,
        "config": masked_document(current.config),
        "updated_at": version.created_at if version else None,
        "updated_by": (version.author_email or None) if version else None,
    }
    response = JsonResponse(body)
    response["ETag"] = version_etag(current.number)
    return response


def config_invalid(error: ConfigInvalid, *, prefix: str = "config") -> ApiError:
    """422 naming the JSON path of the first bad field in the body (`config.budgets.period`)."""
    paths = [
        prefix if problem.path == ROOT else f"{prefix}.{problem.path}".replace(".[", "[")
        for problem in error.problems
    ]
    return ApiError(
        422,
        error.code,
        "; ".join(
            f"{path}: {problem.message}"
            for path, problem in zip(paths, error.problems, strict=True)
        ),
        param=paths[0] if paths else prefix,
    )


def precondition_failed(error: ConfigConflict) -> ApiError:
    return ApiError(
        412,
        "version_mismatch",
        f'{error.message} Read the config again (its ETag is "{error.current_version}") and '
        "send your change with that If-Match.",
        param="If-Match",
    )


def _config_write(request, access, write) -> JsonResponse:
    try:
        write(access.organization, request.auth.actor, if_match_version(request))
    except ConfigInvalid as error:
        raise config_invalid(error) from None
    except ConfigConflict as error:
        raise precondition_failed(error) from None
    return _config_answer(access.organization)


# -- Organizations -------------------------------------------------------------------------------


@router.get(
    "orgs",
    url_name="orgs",
    response={200: OrganizationList, **ADMIN_ERRORS},
    summary="List the organizations the credential reaches",
)
def organization_list(request, cursor: str | None = None):
    """A key: its own org. A personal access token: every org of its user, by name, in pages of
    50 (pass `next_cursor` back as `cursor`)."""
    caller: ApiCaller = request.auth
    if caller.organization is not None:
        access = api_organization(caller, caller.organization.slug)
        return {
            "data": [_organization_out(access.organization, access.role.value)],
            "next_cursor": None,
        }
    page = selectors.user_organizations_page(caller.user, cursor=cursor)
    return {
        "data": [
            _organization_out(membership.organization, membership.role) for membership in page.rows
        ],
        "next_cursor": page.next_cursor,
    }


@router.post(
    "orgs",
    url_name="orgs",
    response={201: OrganizationOut, **ADMIN_ERRORS},
    summary="Create an organization (personal access tokens only)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": OrganizationIn.model_json_schema()}},
        }
    },
)
def organization_create(request):
    """The token's user becomes its Owner. An `Idempotency-Key` header makes retries safe."""
    caller: ApiCaller = request.auth
    if not caller.is_token:
        raise Refused(
            "Organizations are created with a personal access token: an API key belongs to one "
            "organization and cannot create another.",
            code="token_required",
        )
    body = read_body(request)
    data = json_object(body)
    key = idempotency_key_read(request.headers.get("Idempotency-Key"))

    def create() -> tuple[Answer, int]:
        form = OrganizationNameForm(data={"name": data.get("name")})
        if not isinstance(data.get("name"), str) or not form.is_valid():
            raise ApiError(
                422,
                "invalid",
                "name: give the organization a name of 1–100 characters.",
                param="name",
            )
        organization = services.organization_create(
            name=form.cleaned_data["name"], actor=caller.actor
        )
        body = _organization_out(organization, Role.OWNER.value)
        return Answer(status=201, body=body), organization.pk

    answer = idempotent(
        credential=caller.credential_id,
        key=key,
        request=f"POST {request.path}",
        body=body,
        run=create,
    )
    return answer.response()


# -- Config --------------------------------------------------------------------------------------

CONFIG_BODY = json_body_doc(ConfigIn)


@router.get(
    "orgs/{org_id}/config",
    url_name="org-config",
    response={200: ConfigOut, **ADMIN_ERRORS},
    summary="Read the org's config (provider keys masked)",
)
def config_get(request, org_id: str):
    """`ETag` is the version; send it back as `If-Match` when changing the config."""
    access = api_organization(request.auth, org_id, Capability.VIEW_CONFIG)
    # The version in force came with the membership, in the query that reached the org.
    organization = access.organization
    return _config_answer(
        organization, current=selectors.config_of_version(organization.config_version)
    )


@router.patch(
    "orgs/{org_id}/config",
    url_name="org-config",
    response={200: ConfigOut, **ADMIN_ERRORS},
    summary="Change the config with a JSON merge patch (RFC 7396)",
    openapi_extra=CONFIG_BODY,
)
def config_update(request, org_id: str):
    """`{"config": {...}}` merged into the current document: objects merge, `null` removes,
    anything else (lists too) replaces. With `If-Match: "<version>"`, a config changed since that
    version is refused with 412 and nothing is saved. A provider's `api_key` left out or equal to
    its mask keeps the stored key."""
    access = api_organization(request.auth, org_id, Capability.CHANGE_CONFIG)
    data = _config_body(request)
    return _config_write(
        request,
        access,
        lambda organization, actor, base: services.config_patch(
            organization=organization,
            actor=actor,
            base_version=base,
            patch=data["config"],
            message=data["message"],
        ),
    )


@router.put(
    "orgs/{org_id}/config",
    url_name="org-config",
    response={200: ConfigOut, **ADMIN_ERRORS},
    summary="Replace the whole config document",
    openapi_extra=CONFIG_BODY,
)
def config_replace(request, org_id: str):
    """Sections left out take their defaults. `If-Match` as for PATCH."""
    access = api_organization(request.auth, org_id, Capability.CHANGE_CONFIG)
    data = _config_body(request)
    return _config_write(
        request,
        access,
        lambda organization, actor, base: services.config_save(
            organization=organization,
            actor=actor,
            base_version=base,
            document=data["config"],
            message=data["message"],
        ),
    )


def _config_body(request) -> dict:
    data = json_object(read_body(request), parse_int=whole_number)
    unknown = sorted(set(data) - {"config", "message"})
    if unknown:
        raise ApiError(
            422,
            "invalid",
            f'{unknown[0]}: unknown field; send {{"config": {{...}}}} and optionally a "message".',
            param=unknown[0],
        )
    if not isinstance(data.get("config"), dict):
        raise ApiError(
            422,
            "invalid",
            'config: send the config as an object: {"config": {...}}.',
            param="config",
        )
    message = data.get("message", "")
    if not isinstance(message, str) or len(message) > 200:
        raise ApiError(
            422, "invalid", "message: a change note of at most 200 characters.", param="message"
        )
    return {"config": data["config"], "message": message}


@router.get(
    "orgs/{org_id}/config/versions",
    url_name="org-config-versions",
    response={200: VersionList, **ADMIN_ERRORS},
    summary="List the config's versions, newest first",
)
def config_versions(request, org_id: str, cursor: str | None = None):
    access = api_organization(request.auth, org_id, Capability.VIEW_CONFIG)
    page = selectors.config_versions_page(
        access.organization, cursor=cursor, size=VERSIONS_PAGE_SIZE
    )
    return {
        "data": [_version_out(version) for version in page.rows],
        "next_cursor": page.next_cursor,
    }


def _version(organization: Organization, number: int) -> ConfigVersion:
    version = selectors.config_version_get(organization, number)
    if version is None:
        raise NotFound(f"This organization has no config version {number}.")
    return version


@router.get(
    "orgs/{org_id}/config/versions/{int:number}",
    url_name="org-config-version",
    response={200: VersionDocumentOut, **ADMIN_ERRORS},
    summary="Read one config version (provider keys masked)",
)
def config_version(request, org_id: str, number: int):
    access = api_organization(request.auth, org_id, Capability.VIEW_CONFIG)
    version = _version(access.organization, number)
    return {
        **_version_out(version),
        "config": masked_document(selectors.parse_stored(version.document)),
    }


@router.post(
    "orgs/{org_id}/config/versions/{int:number}/restore",
    url_name="org-config-restore",
    response={200: ConfigOut, **ADMIN_ERRORS},
    summary="Restore a version: its document becomes a new version",
)
def config_restore(request, org_id: str, number: int):
    """`If-Match` as for PATCH."""
    access = api_organization(request.auth, org_id, Capability.CHANGE_CONFIG)
    _version(access.organization, number)
    return _config_write(
        request,
        access,
        lambda organization, actor, base: services.config_restore(
            organization=organization, actor=actor, base_version=base, number=number
        ),
    )
