"""Permissions: what a role or an API key may do. Pure rules, no I/O.

Roles are sets of permissions. The three built-in roles keep their meaning: an owner may do everything,
an admin everything but manage owners (checked where staff are changed, since ``staff.manage`` itself is
shared), and staff the day-to-day work. Every route of the gateway names the one permission it needs.
"""

from __future__ import annotations

PERMISSIONS: tuple[str, ...] = (
    "clients.read",
    "clients.write",
    "clients.delete",
    "clients.import",
    "clients.export",
    "clients.merge",
    "clients.erase",
    "schedule.read",
    "schedule.write",
    "requests.read",
    "requests.approve",
    "billing.read",
    "billing.write",
    "billing.refund",
    "memberships.read",
    "memberships.write",
    "notifications.manage",
    "reports.read",
    "settings.manage",
    "staff.manage",
    "integrations.manage",
    "audit.read",
)

BUILT_IN_ROLES: dict[str, frozenset[str]] = {
    "owner": frozenset(PERMISSIONS),
    "admin": frozenset(PERMISSIONS),
    "staff": frozenset(
        {
            "clients.read",
            "clients.write",
            "schedule.read",
            "schedule.write",
            "requests.read",
            "requests.approve",
            "billing.read",
            "memberships.read",
            # The front desk sells packages, checks clients in and uses their credits.
            "memberships.write",
        }
    ),
}

# Held by every built-in role that is not plain staff: a principal holding any of them is an "admin" to
# the services behind the gateway, whose own checks (defence in depth) know only owner/admin/staff.
_MANAGER_ONLY = frozenset(PERMISSIONS) - BUILT_IN_ROLES["staff"]


def permissions_of_role(role: str) -> frozenset[str]:
    return BUILT_IN_ROLES.get(role, frozenset())


def service_role(role: str, permissions: frozenset[str]) -> str:
    """The role the services see: the built-in one, or for a key "admin" when it holds a manager's
    permission (the gateway has already checked the one the route needs) and "staff" otherwise."""
    if role in BUILT_IN_ROLES:
        return role
    return "admin" if permissions & _MANAGER_ONLY else "staff"


def unknown_permissions(names: list[str] | tuple[str, ...]) -> list[str]:
    return [name for name in names if name not in PERMISSIONS]
