"""Admin tool: `make set-role EMAIL=… ROLE=…` sets the role claim, mirrors users/{uid}.role and
revokes the account's refresh tokens (it signs in again to get the new claim).

Runs against the local emulators (the stack's environment); with real credentials and no
emulator variables it acts on the project in GOOGLE_CLOUD_PROJECT.
"""

from __future__ import annotations

import argparse
import sys

from homepro import bootstrap
from homepro.domain.errors import HomeProError
from homepro.services.roles import assign_role


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("email")
    parser.add_argument("role", help="customer | helper | admin")
    args = parser.parse_args()
    try:
        uid = assign_role(bootstrap.context(), bootstrap.identity(), args.email, args.role)
    except HomeProError as err:
        print(f"set-role: {err}", file=sys.stderr)
        return 2
    print(
        f"{args.email} ({uid}) is now {args.role}: callables act on it now; signed out "
        "everywhere, they get the new claim (and the security rules follow) at their next "
        "sign-in, or when their current ID token expires, within the hour"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
