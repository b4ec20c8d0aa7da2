"""What a helper may see of a request before holding it: the job (`jobs/{requestId}`).

The request document names its customer and its PaymentIntent; a helper browsing the board
needs neither. The server writes the job in the same commit as every write of its request
(creation, each transition), so it is never behind; the rules let helpers read only open jobs,
and `requests/{id}` only once they hold it.
"""

from __future__ import annotations

from typing import Any

from homepro.domain.models import RequestDoc

JOBS = "jobs"


def job_path(request_id: str) -> str:
    return f"{JOBS}/{request_id}"


def job_of(request: RequestDoc) -> dict[str, Any]:
    """The job of a request, whole: what the board shows and nothing that names a person or a
    payment (never `customerId`, `paymentIntentId`, `clientRequestId`, `helperId`). `open`: a
    helper may claim it now (pending, card held), the only jobs helpers may read."""
    return {
        "category": request.category.value,
        "description": request.description,
        "amount": request.amount,
        "currency": request.currency,
        "status": request.status.value,
        "paymentStatus": request.payment_status.value,
        "open": request.dispatchable,
        "createdAt": request.created_at,
        "pendingSince": request.pending_since,
        "updatedAt": request.updated_at,
    }
