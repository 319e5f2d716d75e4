"""Roles as sets of permissions, and what the services behind the gateway are told."""

from gateway.identity.permissions import BUILT_IN_ROLES, PERMISSIONS, permissions_of_role, service_role


def test_owners_and_admins_hold_every_permission_and_staff_the_day_to_day_ones() -> None:
    assert permissions_of_role("owner") == permissions_of_role("admin") == frozenset(PERMISSIONS)
    assert permissions_of_role("staff") == {
        "clients.read",
        "clients.write",
        "schedule.read",
        "schedule.write",
        "requests.read",
        "requests.approve",
        "billing.read",
        "memberships.read",
        "memberships.write",
    }
    assert permissions_of_role("no such role") == frozenset()
    assert set(BUILT_IN_ROLES) == {"owner", "admin", "staff"}


def test_the_services_see_a_built_in_role_or_what_a_set_of_permissions_amounts_to() -> None:
    assert service_role("owner", frozenset()) == "owner"
    assert service_role("staff", frozenset(PERMISSIONS)) == "staff"
    assert service_role("", frozenset({"clients.read", "clients.write"})) == "staff"
    assert service_role("", frozenset({"clients.read", "clients.import"})) == "admin"
