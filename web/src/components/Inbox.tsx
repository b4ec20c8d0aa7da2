/** The in-app inbox panel: newest first, unread count, mark read. */
import { Link } from 'react-router';
import { useAction } from '../hooks';
import { formatTime, type InboxNotification } from '../model';
import { useInbox } from '../session/InboxProvider';
import { ErrorNote, Loading } from './Feedback';

export function Inbox() {
  const { items, loading, error, unreadCount, markRead } = useInbox();
  const marking = useAction(markRead);
  const unreadIds = items.filter((item) => !item.readAt).map((item) => item.id);

  return (
    <section className="card inbox" data-testid="inbox" aria-labelledby="inbox-title">
      <div className="card-title">
        <h2 id="inbox-title">
          Inbox{' '}
          <span
            className={unreadCount ? 'badge' : 'badge muted'}
            data-testid="unread-count"
            data-count={unreadCount}
          >
            {unreadCount}
          </span>
          <span className="sr-only"> unread</span>
        </h2>
        {unreadCount > 0 && (
          <button
            type="button"
            className="secondary small"
            data-testid="inbox-mark-all-read"
            disabled={marking.busy}
            onClick={() => void marking.run(unreadIds)}
          >
            Mark all read
          </button>
        )}
      </div>
      <ErrorNote message={error ?? marking.error} testId="inbox-error" />
      {loading ? (
        <Loading label="Loading notifications…" />
      ) : items.length === 0 ? (
        <p className="muted" data-testid="inbox-empty">
          No notifications yet.
        </p>
      ) : (
        <ul className="list">
          {items.map((item) => (
            <InboxItem
              key={item.id}
              item={item}
              busy={marking.busy}
              onRead={() => void marking.run([item.id])}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function InboxItem({
  item,
  busy,
  onRead,
}: {
  item: InboxNotification;
  busy: boolean;
  onRead: () => void;
}) {
  const unread = !item.readAt;
  const url = item.data?.url;
  return (
    <li
      className={unread ? 'inbox-item unread' : 'inbox-item'}
      data-testid="inbox-item"
      data-id={item.id}
      data-type={item.type}
      data-read={unread ? 'false' : 'true'}
    >
      <div className="inbox-text">
        <strong>{item.title}</strong>
        <span>{item.body}</span>
        <small className="muted">{formatTime(item.createdAt)}</small>
      </div>
      <div className="inbox-actions">
        {url && (
          <Link to={url} onClick={unread ? onRead : undefined} data-testid="inbox-open">
            Open
          </Link>
        )}
        {unread && (
          <button
            type="button"
            className="link"
            data-testid="inbox-mark-read"
            disabled={busy}
            onClick={onRead}
          >
            Mark read
          </button>
        )}
      </div>
    </li>
  );
}
