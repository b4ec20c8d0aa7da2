"""Seed the local stack with demo accounts: a customer, three helpers with devices, an admin."""

from __future__ import annotations

from datetime import UTC, datetime

from firebase_admin import firestore

import emulator_client as ec
from homepro import bootstrap
from homepro.services.roles import assign_role

HELPERS = [
    # Hana gave no phone: her new jobs come by push (helpers who gave one are texted instead)
    ("helper1@homepro.test", "Hana Helper", ["plumbing", "hvac"], None),
    ("helper2@homepro.test", "Hugo Helper", ["electrical", "appliance"], "+15125550102"),
    ("helper3@homepro.test", "Hiro Helper", [], "+15125550103"),
]


def main() -> None:
    ctx = bootstrap.context()
    db = firestore.client(bootstrap.app())
    now = datetime.now(UTC)
    rows = []
    ec.sign_up("customer@homepro.test", display_name="Casey Customer")
    rows.append(("customer", "customer@homepro.test"))
    for email, name, categories, phone in HELPERS:
        account = ec.sign_up(email, display_name=name)
        assign_role(ctx, bootstrap.identity(), email, "helper")
        db.collection("users").document(account.uid).update(
            {
                "displayName": name,
                "isAvailable": True,
                "categories": categories,
                "phone": phone,
                "updatedAt": now,
            }
        )
        devices = db.collection("users").document(account.uid).collection("devices")
        for platform in ("web", "android"):
            devices.document(f"demo-{platform}").set(
                {
                    "token": f"demo-{platform}-{account.uid}",
                    "platform": platform,
                    "createdAt": now,
                    "updatedAt": now,
                }
            )
        rows.append(("helper", email))
    ec.sign_up("admin@homepro.test", display_name="Ada Admin")
    assign_role(ctx, bootstrap.identity(), "admin@homepro.test", "admin")
    rows.append(("admin", "admin@homepro.test"))

    print(f"\nDemo accounts (password for all: {ec.PASSWORD})")
    for role, email in rows:
        print(f"  {role:9} {email}")
    print(
        "\nURLs\n"
        "  web client     http://127.0.0.1:5000\n"
        "  callables      http://127.0.0.1:5001/demo-homepro/us-central1/<name>\n"
        "  Firestore      127.0.0.1:8080   Auth 127.0.0.1:9099\n"
        "  stand-ins      Stripe (localstripe) :8420   FCM :9190   Twilio :9191   video :9192\n"
        "                 GET http://127.0.0.1:9190/messages lists every push sent\n"
    )


if __name__ == "__main__":
    main()
