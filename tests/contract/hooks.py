"""Checks of the contract suite beyond schemathesis's own (loaded through SCHEMATHESIS_HOOKS)."""

import re

import schemathesis

# The members of the rules that tie members together, which JSON Schema cannot say. A 422 on a body the
# schema allows must name one of them; any other member means its own limit is missing from the schema.
CROSS_FIELD = {
    # virtual server: address form xor fwmark; family of addresses; port 0 needs persistence
    "protocol", "address", "port", "fwmark", "family",
    # hysteresis below quorum; scheduler flags of their scheduler
    "hysteresis", "scheduler_flags",
    # persistence netmask of the virtual server's family
    "netmask",
    # health check: members of other kinds; timeout within the interval; body_regex must compile
    "path", "http_version", "status_codes", "digest", "body_regex", "virtual_host", "sni",
    "verify_tls", "command", "dynamic_weight", "connect_address", "connect_port", "bind_address",
    "timeout_ms",
    # real server: lower threshold within the upper one
    "lower_threshold",
    # VRRP: advert interval by version; auth by version and type; one family; interface or members;
    # track names exactly one thing; notify names something
    "advert_interval_ms", "version", "auth", "password", "virtual_addresses", "interface",
    "unicast_peers", "unicast_source", "node", "track", "notify", "",
    # references to other objects: a virtual server's VRRP group, a track's virtual server
    "vrrp_group", "virtual_server",
    # a name already used by another object (answered 409 elsewhere), a real server's key fixed by its path
    "name", "real_servers",
}


def leaf(field):
    """`real_servers[1].health_check.path` -> `path`; `virtual_addresses[0]` -> `virtual_addresses`."""
    return re.sub(r"\[\d+\]", "", field).split(".")[-1]


@schemathesis.check
def refusals_of_valid_bodies_are_cross_field(ctx, response, case):
    meta = case.meta
    if response.status_code != 422 or meta is None or not meta.generation.mode.is_positive:
        return None
    try:
        field = response.json()["error"].get("field", "")
    except Exception as e:  # noqa: BLE001 - any unreadable 422 is a failure
        raise AssertionError(f"a 422 without an error body: {e}") from e
    if leaf(field) not in CROSS_FIELD:
        raise AssertionError(
            f"a schema-valid body was refused on `{field}`, which is not a cross-field rule: "
            "the schema should state this member's limit"
        )
    return None
