/** The selected request, live: its fields, then its transitions, rounds and analytics events. */
import { ErrorNote, Loading } from '../../components/Feedback';
import { useLive } from '../../hooks';
import type { ServiceRequest } from '../../model';
import { watchRequest } from '../../queries';
import { AnalyticsEvents } from './AnalyticsEvents';
import { DispatchRounds } from './DispatchRounds';
import { RequestFields } from './RequestFields';
import { Transitions } from './Transitions';

export function RequestAudit({ requestId }: { requestId: string }) {
  const request = useLive<ServiceRequest | null>(requestId, (onNext, onError) =>
    watchRequest(requestId, onNext, onError),
  );
  if (request.loading) return <Loading label="Loading the request…" />;
  if (request.error) {
    return (
      <ErrorNote
        message={`The request could not be loaded (${request.error.message}).`}
        testId="audit-request-error"
      />
    );
  }
  if (!request.data) {
    return (
      <ErrorNote message={`No request has the id "${requestId}".`} testId="audit-request-error" />
    );
  }
  return (
    <div className="stack">
      <RequestFields request={request.data} />
      <Transitions requestId={requestId} />
      <DispatchRounds requestId={requestId} />
      <AnalyticsEvents requestId={requestId} />
    </div>
  );
}
