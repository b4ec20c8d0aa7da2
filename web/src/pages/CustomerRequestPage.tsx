/**
 * `/customer/request`: ask for a session (category, the expected wait, description, card) and
 * see past requests.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { track } from '../analytics';
import {
  createRequest,
  errorCode,
  type CreateRequestResult,
  type WaitQuote,
} from '../callables';
import { isLocalMode } from '../config';
import { ErrorNote, Loading, RouteNotice } from '../components/Feedback';
import { Inbox } from '../components/Inbox';
import { useAction, useLive } from '../hooks';
import {
  CATEGORIES,
  categoryLabel,
  customerStatusLabel,
  formatMoney,
  formatTime,
  type Category,
  type ServiceRequest,
} from '../model';
import { watchCustomerRequests } from '../queries';
import { useSignedIn } from '../session/AuthProvider';
import { loadStripe, type Stripe, type StripeCardElement } from '../stripe';
import {
  PROMISE_MINUTES,
  aboutMinutes,
  p90Text,
  quoteRefused,
  useWaitQuote,
  type WaitQuoteHandle,
} from '../waitQuote';

const DESCRIPTION_MIN = 10;
const DESCRIPTION_MAX = 1000;
const RECENT_REQUESTS = 10;

/** Stripe's test payment methods, for local mode (localstripe behind the emulators). */
export const TEST_PAYMENT_METHODS = [
  { id: 'pm_card_visa', label: 'Visa — succeeds' },
  { id: 'pm_card_chargeCustomerFail', label: 'Declined card' },
  { id: 'pm_card_threeDSecure2Required', label: '3-D Secure required' },
] as const;

/** Errors after which a new submission must not reuse the idempotency key. */
const FINAL_ERRORS = new Set(['invalid-argument', 'failed-precondition', 'permission-denied']);

function newClientRequestId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

export function CustomerRequestPage() {
  return (
    <div className="page">
      <RouteNotice />
      <RequestForm />
      <RecentRequests />
      <Inbox />
    </div>
  );
}

/** A card field: Stripe's card element in production. */
interface CardInput {
  stripe: Stripe;
  card: StripeCardElement;
}

/** Stripe's card element, mounted the first time the card step is shown (then kept). */
function useStripeCard(shown: boolean): {
  mountRef: React.RefObject<HTMLDivElement | null>;
  input: CardInput | null;
  error: string | null;
} {
  const mountRef = useRef<HTMLDivElement | null>(null);
  const [input, setInput] = useState<CardInput | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [wanted, setWanted] = useState(false);
  useEffect(() => {
    if (shown) setWanted(true);
  }, [shown]);
  useEffect(() => {
    if (isLocalMode || !wanted) return undefined;
    let card: StripeCardElement | null = null;
    let live = true;
    loadStripe()
      .then((stripe) => {
        if (!live || !mountRef.current) return;
        card = stripe.elements().create('card', { hidePostalCode: false });
        card.mount(mountRef.current);
        card.on('change', (e) => setError(e.error?.message ?? null));
        setInput({ stripe, card });
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
    return () => {
      live = false;
      card?.destroy();
    };
  }, [wanted]);
  return { mountRef, input, error };
}

function RequestForm() {
  const navigate = useNavigate();
  const [category, setCategory] = useState<Category | ''>('');
  const [description, setDescription] = useState('');
  const [testMethod, setTestMethod] = useState<string>(TEST_PAYMENT_METHODS[0].id);
  const [validation, setValidation] = useState<string | null>(null);
  // The over-15 quote the customer chose to go on with (a new quote asks again).
  const [acceptedQuoteId, setAcceptedQuoteId] = useState<string | null>(null);
  const [declined, setDeclined] = useState(false);
  // One key per submission, kept for a retry after a transport failure (the server returns
  // the first request for a repeated key, so a retry or double-click makes one card hold).
  const clientRequestId = useRef<string | null>(null);
  const wait = useWaitQuote(category);
  const quote = wait.quote;
  const cardStep = quote !== null && (!quote.overPromise || acceptedQuoteId === quote.quoteId);
  const stripeCard = useStripeCard(cardStep);

  const edit =
    <T,>(setter: (value: T) => void) =>
    (value: T) => {
      clientRequestId.current = null;
      setValidation(null);
      setDeclined(false);
      setter(value);
    };

  const submit = useAction(async (chosen: Category, shown: WaitQuote) => {
    if (wait.expired()) {
      // Never charge on a wait that is no longer the one the server would store: show anew.
      void wait.refresh();
      throw new Error(STALE_QUOTE);
    }
    const paymentMethodId = isLocalMode ? testMethod : await createPaymentMethod(stripeCard.input);
    clientRequestId.current ??= newClientRequestId();
    let result: CreateRequestResult;
    try {
      result = await createRequest({
        category: chosen,
        description: description.trim(),
        paymentMethodId,
        clientRequestId: clientRequestId.current,
        quoteId: shown.quoteId,
      });
    } catch (err) {
      const code = errorCode(err);
      if (code && FINAL_ERRORS.has(code)) clientRequestId.current = null;
      track('request_form_submitted', { metadata: { category: chosen, outcome: code ?? 'error' } });
      if (quoteRefused(err, wait.expired())) {
        void wait.refresh();
        throw new Error(STALE_QUOTE);
      }
      // A declined card ends the request it was made for, and its quote with it (one quote,
      // one request): the next try needs a wait of its own.
      if (code === 'failed-precondition') void wait.refresh();
      throw err;
    }
    clientRequestId.current = null;
    track('request_form_submitted', {
      requestId: result.requestId,
      metadata: { category: chosen, outcome: 'created', paymentStatus: result.paymentStatus },
    });
    const notice = result.clientSecret
      ? await confirmCard(stripeCard.input, result.clientSecret)
      : undefined;
    navigate(`/customer/request/${encodeURIComponent(result.requestId)}/status`, {
      state: notice ? { notice } : undefined,
    });
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const length = description.trim().length;
    if (!category) return setValidation('Choose what you need help with.');
    if (length < DESCRIPTION_MIN) {
      return setValidation(`Describe the problem in at least ${DESCRIPTION_MIN} characters.`);
    }
    if (length > DESCRIPTION_MAX) {
      return setValidation(`Keep the description under ${DESCRIPTION_MAX} characters.`);
    }
    if (!quote || !cardStep) {
      return setValidation('See how long a helper usually takes first, then request help.');
    }
    setValidation(null);
    void submit.run(category, quote);
  };

  const decline = () => {
    setValidation(null);
    submit.clearError();
    setDeclined(true);
    setAcceptedQuoteId(null);
    clientRequestId.current = null;
    setCategory('');
  };

  const length = description.trim().length;
  return (
    <section className="card">
      <h1>Get live help from a pro</h1>
      <p className="muted">
        We place a hold on your card. It is charged only if your problem is resolved; otherwise the
        hold is released.
      </p>
      <form className="form" onSubmit={onSubmit} data-testid="request-form" noValidate>
        <label>
          What do you need help with?
          <select
            value={category}
            onChange={(e) => edit(setCategory)(e.target.value as Category | '')}
            data-testid="category"
            required
          >
            <option value="">Choose a category…</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {categoryLabel(c)}
              </option>
            ))}
          </select>
        </label>
        <WaitPanel
          category={category}
          wait={wait}
          accepted={quote !== null && acceptedQuoteId === quote.quoteId}
          declined={declined}
          busy={submit.busy}
          onAccept={() => {
            if (quote) setAcceptedQuoteId(quote.quoteId);
            submit.clearError();
          }}
          onDecline={decline}
        />
        <label>
          Describe the problem
          <textarea
            rows={5}
            maxLength={DESCRIPTION_MAX}
            value={description}
            onChange={(e) => edit(setDescription)(e.target.value)}
            placeholder="e.g. The kitchen sink drains slowly and gurgles"
            data-testid="description"
            required
          />
          <span
            className={length > 0 && length < DESCRIPTION_MIN ? 'counter warn' : 'counter'}
            data-testid="description-counter"
          >
            {length}/{DESCRIPTION_MAX}
            {length < DESCRIPTION_MIN ? ` (at least ${DESCRIPTION_MIN})` : ''}
          </span>
        </label>
        <ErrorNote message={validation ?? submit.error} testId="form-error" />
        {/* The card is asked for only once the wait is shown (and, over 15 minutes, accepted). */}
        {isLocalMode
          ? cardStep && (
              <label>
                Card (Stripe test cards — local mode)
                <select
                  value={testMethod}
                  onChange={(e) => edit(setTestMethod)(e.target.value)}
                  data-testid="payment-method"
                >
                  {TEST_PAYMENT_METHODS.map((pm) => (
                    <option key={pm.id} value={pm.id}>
                      {pm.label}
                    </option>
                  ))}
                </select>
              </label>
            )
          : // mounted once, kept while hidden: what was typed survives a new quote
            <div className="field" hidden={!cardStep}>
              <span>Card</span>
              <div
                className="card-element"
                ref={stripeCard.mountRef}
                data-testid="payment-method"
              />
              <ErrorNote message={stripeCard.error} testId="card-error" />
            </div>}
        {cardStep && (
          <button
            type="submit"
            disabled={submit.busy || wait.loading}
            data-testid="submit-request"
          >
            {submit.busy ? 'Placing the hold…' : 'Request help'}
          </button>
        )}
      </form>
    </section>
  );
}

/** What `create_request` refused or the form found out of date: the new wait is shown. */
const STALE_QUOTE =
  'The wait shown was out of date, so nothing was charged. The current wait is shown above: ' +
  'check it, then press Request help again.';

/**
 * The expected wait for the chosen category, before the card step: within the promise, a line;
 * over it, said plainly, and the customer chooses to go on (or not).
 */
function WaitPanel({
  category,
  wait,
  accepted,
  declined,
  busy,
  onAccept,
  onDecline,
}: {
  category: Category | '';
  wait: WaitQuoteHandle;
  accepted: boolean;
  declined: boolean;
  busy: boolean;
  onAccept: () => void;
  onDecline: () => void;
}) {
  const quote = wait.quote;
  if (!category) {
    return declined ? (
      <p className="muted" role="status" data-testid="wait-declined">
        Nothing was requested and nothing was charged. Choose a category again whenever you are
        ready.
      </p>
    ) : (
      <p className="muted small" data-testid="wait-hint">
        Choose a category to see how long a helper usually takes to answer.
      </p>
    );
  }
  if (wait.error) {
    return (
      <div className="stack">
        <ErrorNote message={wait.error} testId="wait-error" />
        <div className="actions">
          <button
            type="button"
            className="secondary small"
            onClick={() => void wait.refresh()}
            disabled={wait.loading}
            data-testid="wait-retry"
          >
            Try again
          </button>
        </div>
      </div>
    );
  }
  if (!quote) return <Loading label="Checking how busy helpers are…" />;
  const attributes = {
    'data-testid': 'wait-quote',
    'data-quote-id': quote.quoteId,
    'data-expected': quote.expectedMinutes,
    'data-p90': quote.p90Minutes,
    'data-over-promise': quote.overPromise ? 'true' : 'false',
    'data-accepted': accepted ? 'true' : 'false',
    'data-refreshing': wait.loading ? 'true' : 'false',
  };
  if (!quote.overPromise) {
    return (
      <p className="notice" role="status" {...attributes}>
        A helper usually answers in about {aboutMinutes(quote.expectedMinutes)} (
        {p90Text(quote.p90Minutes)}).
      </p>
    );
  }
  return (
    <div className="warning" role="status" {...attributes}>
      <p>
        <strong>
          Helpers are busy: the wait is likely over {PROMISE_MINUTES} minutes, about{' '}
          {aboutMinutes(quote.expectedMinutes)}
        </strong>{' '}
        ({p90Text(quote.p90Minutes)}).
      </p>
      {accepted ? (
        <p className="small" data-testid="wait-accepted">
          You chose to go on with this wait. Your card is held only once you request help.
        </p>
      ) : (
        <>
          <p className="small">
            Do you want to ask for help anyway? Nothing is held on your card until you request
            help.
          </p>
          <div className="actions">
            <button type="button" onClick={onAccept} disabled={busy} data-testid="accept-wait">
              Go on, I will wait
            </button>
            <button
              type="button"
              className="secondary"
              onClick={onDecline}
              disabled={busy}
              data-testid="decline-wait"
            >
              Not now
            </button>
          </div>
        </>
      )}
    </div>
  );
}

async function createPaymentMethod(input: CardInput | null): Promise<string> {
  if (!input) throw new Error('The card form is still loading. Try again in a moment.');
  const { paymentMethod, error } = await input.stripe.createPaymentMethod({
    type: 'card',
    card: input.card,
  });
  if (error || !paymentMethod) throw new Error(error?.message ?? 'The card was not accepted.');
  return paymentMethod.id;
}

/** The card needs the customer (3-D Secure): Stripe.js in production; a notice in local mode. */
async function confirmCard(
  input: CardInput | null,
  clientSecret: string,
): Promise<string | undefined> {
  if (isLocalMode || !input) {
    return (
      'This card needs 3-D Secure confirmation. Stripe.js handles that step in production; in ' +
      'local mode the request waits until the card is authorized.'
    );
  }
  try {
    const { error } = await input.stripe.handleNextAction({ clientSecret });
    return error
      ? `Your bank did not confirm the card: ${error.message ?? 'authentication failed'}.`
      : undefined;
  } catch (err) {
    return `The card could not be confirmed: ${err instanceof Error ? err.message : String(err)}.`;
  }
}

function RecentRequests() {
  const { user } = useSignedIn();
  const requests = useLive<ServiceRequest[]>(user.uid, (onNext, onError) =>
    watchCustomerRequests(user.uid, onNext, onError),
  );
  return (
    <section className="card" data-testid="my-requests">
      <h2>Your requests</h2>
      {requests.error ? (
        <ErrorNote
          message={`Your requests could not be loaded (${requests.error.message}).`}
          testId="my-requests-error"
        />
      ) : requests.loading ? (
        <Loading label="Loading your requests…" />
      ) : !requests.data?.length ? (
        <p className="muted" data-testid="my-requests-empty">
          No requests yet.
        </p>
      ) : (
        <ul className="list">
          {requests.data.slice(0, RECENT_REQUESTS).map((request) => (
            <li
              key={request.id}
              data-testid={`my-request-${request.id}`}
              data-status={request.status}
            >
              <Link to={`/customer/request/${encodeURIComponent(request.id)}/status`}>
                <strong>{categoryLabel(request.category)}</strong> — {customerStatusLabel(request)}
              </Link>
              <small className="muted">
                {formatMoney(request.amount, request.currency)} · {formatTime(request.createdAt)}
              </small>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
