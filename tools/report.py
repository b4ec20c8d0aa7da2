"""`make report`: the 15-minute promise on the local stack, as the admin page shows it.

Signs in as the demo admin (admin@homepro.test) on the Auth emulator and calls the
`dispatch_report` callable of the running `make dev` stack, then prints its KPIs.

    make report                                  # the last 24 hours
    make report ARGS="--since 2026-11-25 --until 2026-11-26"
    make report ARGS="--json"                    # the callable's answer as it is
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
from collections.abc import Mapping
from typing import Any

import emulator_client as ec

ADMIN_EMAIL = "admin@homepro.test"
STATUSES = ("pending", "claimed", "in_session", "completed", "cancelled", "expired")


def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.1f} %"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def promise_lines(promise: Mapping[str, Any] | None) -> list[str]:
    """The wait shown before paying, kept or not (`promiseKept`)."""
    if not promise:
        return []
    lines = ["", "  the wait shown before paying (requests made with a quote)"]
    for key, label in (("shownWithin15", "shown <= 15 min"), ("shownOver15", "shown > 15 min")):
        side = promise[key]
        undecided = f", {side['undecided']} undecided" if side["undecided"] else ""
        lines.append(
            f"  {label:<17} {side['requests']:>5} requests, claimed within 15 min"
            f" {percent(side['claimedWithin15Share'])} ({side['claimedWithin15']}{undecided})"
        )
    quotes = promise["quotes"]
    lines.append(
        f"  quotes shown      {quotes['shown']:>5}, never used {quotes['unused']}"
        f" (<= 15 min: {quotes['unusedWithin15']} of {quotes['shownWithin15']};"
        f" > 15 min: {quotes['unusedOver15']} of {quotes['shownOver15']}: walked away or"
        " asked again)"
    )
    return lines


def render(report: Mapping[str, Any]) -> str:
    """The KPIs as a few aligned tables."""
    window, requests = report["window"], report["requests"]
    ttc, push = report["timeToClaimSeconds"], report["push"]
    lines = [
        f"dispatch report {window['since']} .. {window['until']}",
        "",
        f"  requests dispatchable   {requests['total']}",
        "  by status               "
        + ", ".join(f"{s} {requests['byStatus'].get(s, 0)}" for s in STATUSES),
        f"  claimed                 {report['claimed']}",
        f"  claimed within 15 min   {percent(report['claimedWithin15MinShare'])}"
        + (
            f" ({report['undecided']} still waiting under 15 minutes, not counted yet)"
            if report.get("undecided")
            else ""
        ),
        f"  time to claim p50/p90/p99  {duration(ttc['p50'])} / {duration(ttc['p90'])}"
        f" / {duration(ttc['p99'])}",
        f"  expiry rate             {percent(report['expiryRate'])}",
        f"  cancellation rate       {percent(report['cancellationRate'])}",
        f"  rounds per claim        {report['roundsPerClaim'] or '—'}",
        f"  notifications           {push['notifications']} (pushes sent {push['sent']},"
        f" failed {push['failed']}, tokens pruned {push['pruned']}, SMS {push['sms']})",
        "",
        f"  {'category':<11} {'total':>5} {'claimed':>7} {'≤15 min':>8} {'p50':>6} {'p90':>6}"
        f" {'expired':>8} {'cancelled':>9}",
    ]
    for category, row in report["byCategory"].items():
        lines.append(
            f"  {category:<11} {row['total']:>5} {row['claimed']:>7}"
            f" {percent(row['claimedWithin15MinShare']):>8}"
            f" {duration(row['timeToClaimSeconds']['p50']):>6}"
            f" {duration(row['timeToClaimSeconds']['p90']):>6}"
            f" {percent(row['expiryRate']):>8} {percent(row['cancellationRate']):>9}"
        )
    lines += promise_lines(report.get("promiseKept"))
    bars = report["timeToClaimHistogram"]
    tallest = max((b["count"] for b in bars), default=0)
    if tallest:
        promise = report["promiseSeconds"]
        lines += ["", "  time to claim (minutes; a bar is (from, to], the first from 0)"]
        for bar in bars:
            if bar["toSeconds"] is None:
                label = f"{bar['fromSeconds'] // 60}+"
            else:
                label = f"{bar['fromSeconds'] // 60}-{bar['toSeconds'] // 60}"
            width = round(40 * bar["count"] / tallest)
            lines.append(f"  {label:>6} {'#' * width} {bar['count'] or ''}".rstrip())
            if bar["toSeconds"] == promise:
                lines.append(f"  {'':>6} ---- the {promise // 60}-minute promise ----")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--since", help="ISO-8601 start (default: 24 hours before --until)")
    parser.add_argument("--until", help="ISO-8601 end (default: now)")
    parser.add_argument("--json", action="store_true", help="print the callable's answer")
    parser.add_argument("--email", default=ADMIN_EMAIL, help="an admin account")
    parser.add_argument("--password", default=ec.PASSWORD)
    args = parser.parse_args()
    data = {k: v for k, v in (("since", args.since), ("until", args.until)) if v}
    try:
        admin = ec.sign_in(args.email, args.password)
        report = ec.call("dispatch_report", data, admin.id_token)
    except (urllib.error.URLError, ConnectionError) as err:
        print(
            f"report: the local stack is not running ({err}); start it with make dev",
            file=sys.stderr,
        )
        return 2
    except (ec.CallError, RuntimeError) as err:
        print(f"report: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
