"""What a run measured, from the same report code the admin page uses; the table and chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from homepro.services import reports
from homepro.services.context import Tuning
from marketsim.engine import Outcome


@dataclass(frozen=True)
class Figures:
    policy: str
    requests: int
    claimed: int
    within_15: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    expiry_rate: float | None
    cancellation_rate: float | None
    pushes_per_request: float
    sms_per_request: float
    helper_notifications_per_hour: float
    rounds_per_claim: float | None
    minutes_to_claim: tuple[float, ...]  # every first claim of the day(s), sorted
    days: int = 1
    within_15_range: tuple[float, float] | None = None  # lowest and highest day (several seeds)
    requests_total: int = 0  # every day's requests (the chart's denominator)
    # The wait shown before paying (issue 17 item 3): customers who walked away (not served:
    # they count in the denominator of `within_15`), the share claimed within 15 minutes of the
    # requests shown a wait <= 15 and of those shown more, and the expected wait's median
    # absolute error against the actual wait, beside a constant guess of the day's median.
    walked_away: int = 0
    shown_within: int = 0
    kept_within: float | None = None
    shown_over: int = 0
    kept_over: float | None = None
    wait_error: float | None = None
    constant_error: float | None = None

    def row(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "minutes_to_claim"}


def figures(policy: str, outcome: Outcome) -> Figures:
    """The day's KPIs: `dispatch_report` over the day's requests, and per-helper load."""
    since, until = outcome.window
    report = reports.report(outcome.stores.views, since, until)
    total = report["requests"]["total"]
    push = report["push"]
    minutes = sorted(
        c.seconds / 60
        for c in outcome.stores.views.first_claims(since, until, Tuning().report_page_size)
    )
    helpers = {h.uid for h in outcome.helpers}
    # New-request notifications that reached a helper: a push delivered to a device or an SMS
    # (a phone-only helper in a round without SMS is recorded as targeted, but heard nothing).
    told = sum(
        1
        for event in outcome.docs.analytics.values()
        if event["type"] == "notification_sent"
        and event["userId"] in helpers
        and event["metadata"].get("notificationType") == "new_request"
        and (event["metadata"].get("sent") or event["metadata"].get("sms"))
        and since <= event["timestamp"] < until
    )
    shift_hours = sum(h.shift_seconds for h in outcome.helpers) / 3600
    ttc = report["timeToClaimSeconds"]
    walked = outcome.events["walked away"]
    # walk-aways are customers not served: in the denominator of the 15-minute share
    within = sum(1 for m in minutes if m <= 15)
    served_or_not = total - report["undecided"] + walked
    kept = report["promiseKept"]
    error, constant = wait_errors(quoted_waits(outcome))
    return Figures(
        policy=policy,
        requests=total,
        claimed=report["claimed"],
        within_15=round(within / served_or_not, 4) if served_or_not else None,
        p50=_minutes(ttc["p50"]),
        p90=_minutes(ttc["p90"]),
        p99=_minutes(ttc["p99"]),
        expiry_rate=report["expiryRate"],
        cancellation_rate=report["cancellationRate"],
        pushes_per_request=round(push["sent"] / total, 2) if total else 0.0,
        sms_per_request=round(push["sms"] / total, 2) if total else 0.0,
        helper_notifications_per_hour=round(told / shift_hours, 2) if shift_hours else 0.0,
        rounds_per_claim=report["roundsPerClaim"],
        minutes_to_claim=tuple(minutes),
        requests_total=total + walked,
        walked_away=walked,
        shown_within=kept["shownWithin15"]["requests"],
        kept_within=kept["shownWithin15"]["claimedWithin15Share"],
        shown_over=kept["shownOver15"]["requests"],
        kept_over=kept["shownOver15"]["claimedWithin15Share"],
        wait_error=error,
        constant_error=constant,
    )


def quoted_waits(outcome: Outcome) -> list[tuple[float, float]]:
    """(expected minutes shown, actual minutes waited) of every request made with a quote: the
    actual wait is from dispatchable to the first claim, or, never claimed, to when it ended
    (the customer cancelled, or it expired: they waited that long and were not served)."""
    found = []
    for data in outcome.docs.requests.values():
        quote, since = data.get("quote"), data.get("dispatchableAt")
        if not quote or since is None:
            continue
        ended = data.get("firstClaimedAt") or data.get("cancelledAt") or data.get("expiredAt")
        if ended is None:
            continue
        found.append((float(quote["expectedMinutes"]), (ended - since).total_seconds() / 60))
    return found


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def wait_errors(pairs: Sequence[tuple[float, float]]) -> tuple[float | None, float | None]:
    """The median absolute error (minutes) of the expected wait shown, and of a constant guess
    of the day's median wait (what a product with no live estimate could show at best)."""
    if not pairs:
        return None, None
    day = _median([actual for _, actual in pairs])
    shown = _median([abs(expected - actual) for expected, actual in pairs])
    constant = _median([abs(day - actual) for _, actual in pairs])
    return round(shown, 2), round(constant, 2)


def pooled(days: Sequence[Figures]) -> Figures:
    """Several seeds of one policy as one row: the mean of each figure over the days (a figure
    a day has not, such as p50 with nothing claimed, is left out of its mean), every day's
    claims on one curve."""
    if len(days) == 1:
        return days[0]

    def mean(values: Sequence[float | None], digits: int) -> float | None:
        found = [v for v in values if v is not None]
        return round(sum(found) / len(found), digits) if found else None

    def of(name: str, digits: int = 4) -> float | None:
        return mean([getattr(d, name) for d in days], digits)

    return Figures(
        policy=days[0].policy,
        requests=round(sum(d.requests for d in days) / len(days)),
        claimed=round(sum(d.claimed for d in days) / len(days)),
        within_15=of("within_15"),
        p50=of("p50", 2),
        p90=of("p90", 2),
        p99=of("p99", 2),
        expiry_rate=of("expiry_rate"),
        cancellation_rate=of("cancellation_rate"),
        pushes_per_request=of("pushes_per_request", 2) or 0.0,
        sms_per_request=of("sms_per_request", 2) or 0.0,
        helper_notifications_per_hour=of("helper_notifications_per_hour", 2) or 0.0,
        rounds_per_claim=of("rounds_per_claim", 3),
        minutes_to_claim=tuple(sorted(m for d in days for m in d.minutes_to_claim)),
        days=len(days),
        requests_total=sum(d.requests_total for d in days),
        within_15_range=(
            min(d.within_15 or 0.0 for d in days),
            max(d.within_15 or 0.0 for d in days),
        ),
        walked_away=round(sum(d.walked_away for d in days) / len(days)),
        shown_within=round(sum(d.shown_within for d in days) / len(days)),
        kept_within=of("kept_within"),
        shown_over=round(sum(d.shown_over for d in days) / len(days)),
        kept_over=of("kept_over"),
        wait_error=of("wait_error", 2),
        constant_error=of("constant_error", 2),
    )


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.1f} %"


def _min(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


COLUMNS = (
    ("policy", 22),
    ("requests", 8),
    ("≤15 min", 8),
    ("p50 min", 7),
    ("p90 min", 7),
    ("p99 min", 7),
    ("expired", 8),
    ("cancelled", 9),
    ("push/req", 8),
    ("SMS/req", 7),
    ("notif/helper-h", 14),
    ("≤15 min range", 15),
)


def table(title: str, rows: Sequence[Figures]) -> str:
    widths = [max([COLUMNS[0][1], *(len(f.policy) for f in rows)])] + [w for _, w in COLUMNS[1:]]
    names = [name for name, _ in COLUMNS]

    def line(cells: Sequence[str]) -> str:
        return " ".join(
            f"{cell:>{width}}" if i else f"{cell:<{width}}"
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    header = line(names)
    lines = [title, header, "-" * len(header)]
    for f in rows:
        lines.append(
            line(
                (
                    f.policy,
                    str(f.requests),
                    _pct(f.within_15),
                    _min(f.p50),
                    _min(f.p90),
                    _min(f.p99),
                    _pct(f.expiry_rate),
                    _pct(f.cancellation_rate),
                    f"{f.pushes_per_request:.2f}",
                    f"{f.sms_per_request:.2f}",
                    f"{f.helper_notifications_per_hour:.2f}",
                    "—"
                    if f.within_15_range is None
                    else f"{100 * f.within_15_range[0]:.1f}–{100 * f.within_15_range[1]:.1f} %",
                )
            )
        )
    return "\n".join(lines)


def promise_line(f: Figures) -> str:
    """The wait shown before paying, kept or not, and how close the expected wait was."""
    if f.wait_error is not None and f.constant_error:
        better = f", {100 * (1 - f.wait_error / f.constant_error):.0f} % below it"
    else:
        better = ""
    return (
        f"  {f.policy}: shown <= 15 min: {f.shown_within} requests, {_pct(f.kept_within)} claimed"
        f" within 15 (goal >= 97 %); shown more: {f.shown_over}, {_pct(f.kept_over)}; walked"
        f" away {f.walked_away}; expected-wait error (median abs) {_min(f.wait_error)} min vs"
        f" {_min(f.constant_error)} min for the day's median{better}"
    )


def chart(title: str, rows: Sequence[Figures], path: Path, horizon_minutes: float = 60) -> None:
    """Time to claim, one curve per policy: the share of the day's requests claimed within x
    minutes (a request never claimed never counts), with the 15-minute line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    for f in rows:
        total = f.requests_total
        if not total:
            continue
        xs = [0.0]
        ys = [0.0]
        for n, minutes in enumerate(m for m in f.minutes_to_claim if m <= horizon_minutes):
            xs += [minutes, minutes]
            ys += [n / total, (n + 1) / total]
        xs.append(horizon_minutes)
        ys.append(ys[-1])
        label = f"{f.policy}: {_pct(f.within_15)} within 15 min"
        ax.plot(xs, [100 * y for y in ys], label=label, linewidth=2)
    ax.axvline(15, color="#b91c1c", linestyle="--", linewidth=1.5)
    # along the line, left of it and low: the legend sits at the lower right
    ax.text(14.5, 3, "15-minute promise", color="#b91c1c", fontsize=9, rotation=90, ha="right")
    ax.axhline(97, color="#6b7280", linestyle=":", linewidth=1)
    ax.text(horizon_minutes * 0.8, 93.5, "goal 97 %", color="#6b7280", fontsize=9)
    ax.set_xlim(0, horizon_minutes)
    ax.set_ylim(0, 102)
    ax.set_xlabel("minutes from dispatchable to the first claim")
    ax.set_ylabel("% of the day's requests claimed")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
