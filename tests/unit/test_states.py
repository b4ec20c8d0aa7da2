"""The lifecycles as data: every contract move allowed, everything else refused."""

import itertools

import pytest

from homepro.domain.errors import InvalidTransition
from homepro.domain.states import (
    PAYMENT,
    REQUEST,
    SESSION,
    PaymentAction,
    PaymentStatus,
    RequestAction,
    RequestStatus,
    SessionAction,
    SessionStatus,
    transition,
)

R, P, S = RequestStatus, PaymentStatus, SessionStatus

# The contract's moves, plus escalation: a pending request stays pending with a new round.
CONTRACT_REQUEST_MOVES = {
    (R.PENDING, R.PENDING),
    (R.PENDING, R.CLAIMED),
    (R.CLAIMED, R.IN_SESSION),
    (R.IN_SESSION, R.COMPLETED),
    (R.PENDING, R.CANCELLED),
    (R.PENDING, R.EXPIRED),
    (R.CLAIMED, R.CANCELLED),
    (R.CLAIMED, R.PENDING),
    (R.CLAIMED, R.EXPIRED),
}
CONTRACT_PAYMENT_MOVES = {
    (P.REQUIRES_PAYMENT, P.AUTHORIZED),
    (P.AUTHORIZED, P.CAPTURED),
    (P.AUTHORIZED, P.RELEASED),
    (P.CAPTURED, P.REFUNDED),
    (P.REQUIRES_PAYMENT, P.FAILED),
    (P.AUTHORIZED, P.FAILED),
}
CONTRACT_SESSION_MOVES = {
    (S.CREATED, S.WAITING),
    (S.WAITING, S.ACTIVE),
    (S.ACTIVE, S.ENDED),
    (S.WAITING, S.ENDED),
}


@pytest.mark.parametrize(
    ("machine", "moves"),
    [
        (REQUEST, CONTRACT_REQUEST_MOVES),
        (PAYMENT, CONTRACT_PAYMENT_MOVES),
        (SESSION, CONTRACT_SESSION_MOVES),
    ],
)
def test_each_machine_has_exactly_the_contract_moves(machine, moves):
    assert {(src, dst) for (src, _), dst in machine.table.items()} == moves


@pytest.mark.parametrize(
    ("machine", "states", "actions"),
    [
        (REQUEST, RequestStatus, RequestAction),
        (PAYMENT, PaymentStatus, PaymentAction),
        (SESSION, SessionStatus, SessionAction),
    ],
)
def test_transition_raises_for_every_pair_not_in_the_table(machine, states, actions):
    for state, action in itertools.product(states, actions):
        if (state, action) in machine.table:
            assert transition(machine, state, action) == machine.table[(state, action)]
        else:
            with pytest.raises(InvalidTransition):
                transition(machine, state, action)


def test_the_error_names_the_action_and_the_state():
    with pytest.raises(InvalidTransition, match="cannot claim a request that is expired"):
        transition(REQUEST, R.EXPIRED, RequestAction.CLAIM)


def test_terminal_states_allow_nothing_but_refund():
    for state in (R.COMPLETED, R.CANCELLED, R.EXPIRED):
        assert not any(REQUEST.allows(state, a) for a in RequestAction)
    assert REQUEST.sources(RequestAction.CANCEL) == {R.PENDING, R.CLAIMED}
