/** The analytics events about the request (server and client), notifications sent among them. */
import type { ReactNode } from 'react';
import { useLive } from '../../hooks';
import { formatInstant, humanize, type AnalyticsEvent } from '../../model';
import { watchRequestAnalytics } from '../../queries';
import { Table } from '../Table';
import { LiveList, Section } from './parts';

function numberOf(value: unknown): string {
  return typeof value === 'number' ? String(value) : '—';
}

function details(event: AnalyticsEvent): ReactNode {
  const metadata = event.metadata ?? {};
  if (event.type === 'notification_sent') {
    const failed = typeof metadata.failed === 'number' ? metadata.failed : 0;
    const kind = typeof metadata.notificationType === 'string' ? metadata.notificationType : '—';
    return (
      <>
        <strong>{kind}</strong> · {numberOf(metadata.recipients ?? 1)} recipients ·{' '}
        {numberOf(metadata.devices)} devices ·{' '}
        {numberOf(metadata.sent)} sent ·{' '}
        <span className={failed ? 'bad' : undefined}>{numberOf(metadata.failed)} failed</span>
      </>
    );
  }
  const entries = Object.entries(metadata);
  if (!entries.length) return '—';
  return entries
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(' · ');
}

export function AnalyticsEvents({ requestId }: { requestId: string }) {
  const events = useLive<AnalyticsEvent[]>(requestId, (onNext, onError) =>
    watchRequestAnalytics(requestId, onNext, onError),
  );
  const batches = events.data?.filter((event) => event.type === 'notification_sent');
  const sent = batches?.length;
  // one event per batch of recipients (a round's wave, or the users one notification went to)
  const told = batches?.reduce((sum, event) => {
    const recipients = event.metadata?.recipients;
    return sum + (typeof recipients === 'number' ? recipients : 1);
  }, 0);
  return (
    <Section title="Notifications and analytics" count={events.data?.length}>
      {sent !== undefined && (
        <p className="muted small">
          {told} {told === 1 ? 'recipient' : 'recipients'} told in {sent}{' '}
          {sent === 1 ? 'batch' : 'batches'} (one event per batch: a round&apos;s wave, or the users
          one notification went to).
        </p>
      )}
      <LiveList
        live={events}
        what="analytics events"
        testId="audit-notifications"
        empty="No analytics events for this request."
      >
        {(eventsData) => (
          <Table headers={['Time', 'Type', 'User', 'Details']}>
            {eventsData.map((event) => (
              <tr
                key={event.id}
                className={event.type === 'notification_sent' ? 'sent' : undefined}
                data-testid="audit-notification"
                data-type={event.type}
                data-user-id={event.userId ?? ''}
                data-source={event.source ?? ''}
                data-notification-type={
                  typeof event.metadata?.notificationType === 'string'
                    ? event.metadata.notificationType
                    : ''
                }
              >
                <td className="nowrap">{formatInstant(event.timestamp)}</td>
                <td>
                  {humanize(event.type)}
                  {event.source === 'client' && <span className="chip">client</span>}
                </td>
                <td>{event.userId ? <code>{event.userId}</code> : '—'}</td>
                <td>{details(event)}</td>
              </tr>
            ))}
          </Table>
        )}
      </LiveList>
    </Section>
  );
}
