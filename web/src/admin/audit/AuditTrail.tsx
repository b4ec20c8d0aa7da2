/**
 * `/admin`: the audit trail of one request (`?request=ID`): its fields, transitions, dispatch
 * rounds with their targets, and the analytics events about it (notifications sent among them).
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { ErrorNote } from '../../components/Feedback';
import { RecentRequests } from './RecentRequests';
import { RequestAudit } from './RequestAudit';
import { REQUEST_PARAM, requestIdProblem } from './requestParam';

export function AuditTrail() {
  const [params, setParams] = useSearchParams();
  const selected = params.get(REQUEST_PARAM)?.trim() || null;
  const [draft, setDraft] = useState(selected ?? '');
  const [inputError, setInputError] = useState<string | null>(null);

  // Follow the URL (a recent request clicked, back / forward).
  useEffect(() => {
    setDraft(selected ?? '');
    setInputError(null);
  }, [selected]);

  const open = (event: FormEvent) => {
    event.preventDefault();
    const id = draft.trim();
    const problem = requestIdProblem(id);
    setInputError(problem);
    if (problem) return;
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      next.set(REQUEST_PARAM, id);
      return next;
    });
  };

  const invalid = selected ? requestIdProblem(selected) : null;
  return (
    <section className="card audit" aria-labelledby="audit-title">
      <div className="audit-lookup">
        <h2 id="audit-title">Request audit trail</h2>
        <form className="lookup-form" onSubmit={open}>
          <label className="field grow">
            Request id
            <input
              value={draft}
              onChange={(event) => setDraft(event.target.value)}
              placeholder="e.g. 3fK9c…"
              autoComplete="off"
              spellCheck={false}
              data-testid="audit-request-input"
            />
          </label>
          <button type="submit" data-testid="audit-open">
            Open
          </button>
        </form>
        <ErrorNote message={inputError} testId="audit-input-error" />
      </div>
      <div className="audit-detail">
        {selected === null ? (
          <p className="muted" data-testid="audit-none">
            Enter a request id, or pick one of the recent requests, to see its audit trail.
          </p>
        ) : invalid ? (
          <ErrorNote message={invalid} testId="audit-request-error" />
        ) : (
          <RequestAudit key={selected} requestId={selected} />
        )}
      </div>
      <RecentRequests selected={selected} />
    </section>
  );
}
