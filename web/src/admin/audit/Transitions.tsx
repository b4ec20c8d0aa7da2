/** The request's audit events (`requests/{id}/events`), oldest first: its state transitions. */
import type { ReactNode } from 'react';
import { useLive } from '../../hooks';
import { formatInstant, humanize, type RequestEvent } from '../../model';
import { watchRequestEvents } from '../../queries';
import { Table } from '../Table';
import { LiveList, Section } from './parts';

function actorLabel(event: RequestEvent): ReactNode {
  const actor = event.actor;
  if (!actor) return '—';
  return (
    <>
      {actor.role}
      {actor.uid && (
        <>
          {' '}
          <code>{actor.uid}</code>
        </>
      )}
    </>
  );
}

export function Transitions({ requestId }: { requestId: string }) {
  const events = useLive<RequestEvent[]>(requestId, (onNext, onError) =>
    watchRequestEvents(requestId, onNext, onError),
  );
  return (
    <Section title="Transitions" count={events.data?.length}>
      <LiveList
        live={events}
        what="audit events"
        testId="audit-events"
        empty="No audit events."
      >
        {(eventsData) => (
          <Table headers={['Time', 'Event', 'From → to', 'Actor', 'Reason']}>
            {eventsData.map((event) => (
              <tr
                key={event.id}
                data-testid="audit-event"
                data-id={event.id}
                data-type={event.type}
                data-from={event.from ?? ''}
                data-to={event.to ?? ''}
                data-actor-role={event.actor?.role ?? ''}
              >
                <td className="nowrap">{formatInstant(event.at)}</td>
                <td>{humanize(event.type)}</td>
                <td className="nowrap">
                  {event.from ?? '∅'} → {event.to ?? '∅'}
                </td>
                <td>{actorLabel(event)}</td>
                <td>{event.reason ? humanize(event.reason) : '—'}</td>
              </tr>
            ))}
          </Table>
        )}
      </LiveList>
    </Section>
  );
}
