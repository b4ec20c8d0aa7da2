/**
 * Push notifications for this browser (Task 7.4). The dashboard prompt shows only to helpers
 * without notifications enabled here; the settings panel always shows the state. In local mode
 * it says plainly that push is unavailable and the in-app inbox carries every notification.
 */
import { useEffect, useRef, useState } from 'react';
import { track } from '../analytics';
import { useAction } from '../hooks';
import {
  enablePush,
  forgetDevice,
  isPushEnabledHere,
  pushAvailability,
  type PushAvailability,
} from '../push';
import { useSignedIn } from '../session/AuthProvider';
import { ErrorNote } from './Feedback';

const LOCAL_MODE_TEXT =
  'Push notifications are not available in local mode: the emulators cannot reach Firebase ' +
  'Cloud Messaging, so this browser cannot get a push token. New jobs and updates appear in ' +
  'your in-app inbox instead, and a notice pops up while this page is open.';

const UNSUPPORTED_TEXT =
  'This browser cannot receive push notifications. New jobs and updates appear in your ' +
  'in-app inbox instead.';

const DENIED_TEXT =
  'Notifications are blocked for this site. To get job alerts, allow notifications in your ' +
  "browser's site settings. Until then, your in-app inbox shows every notification.";

interface PushState {
  availability: PushAvailability | null;
  enabled: boolean | null;
  setEnabled: (enabled: boolean) => void;
}

function usePushState(uid: string): PushState {
  const [availability, setAvailability] = useState<PushAvailability | null>(null);
  const [enabled, setEnabled] = useState<boolean | null>(null);
  useEffect(() => {
    let live = true;
    void (async () => {
      const found = await pushAvailability();
      const on = found === 'available' ? await isPushEnabledHere(uid).catch(() => false) : false;
      if (!live) return;
      setAvailability(found);
      setEnabled(on);
    })();
    return () => {
      live = false;
    };
  }, [uid]);
  return { availability, enabled, setEnabled };
}

function dismissKey(uid: string): string {
  return `homepro.pushPromptDismissed.${uid}`;
}

function wasDismissed(uid: string): boolean {
  try {
    return window.localStorage.getItem(dismissKey(uid)) === '1';
  } catch {
    return false;
  }
}

function rememberDismissed(uid: string): void {
  try {
    window.localStorage.setItem(dismissKey(uid), '1');
  } catch {
    // private mode: the prompt comes back next time, which is harmless
  }
}

function useEnablePush(uid: string, push: PushState, surface: string) {
  return useAction(async () => {
    await enablePush(uid);
    push.setEnabled(true);
    track('notifications_enabled', { metadata: { surface } });
    return true;
  });
}

/** The dashboard prompt for helpers who have not enabled notifications in this browser. */
export function NotificationPrompt() {
  const { user, role } = useSignedIn();
  const push = usePushState(user.uid);
  const enabling = useEnablePush(user.uid, push, 'dashboard');
  const [dismissed, setDismissed] = useState(() => wasDismissed(user.uid));
  const [justEnabled, setJustEnabled] = useState(false);
  const shownLogged = useRef(false);

  const visible =
    role === 'helper' && push.availability !== null && push.enabled === false && !dismissed;

  useEffect(() => {
    if (visible && !shownLogged.current) {
      shownLogged.current = true;
      track('notification_prompt_shown', { metadata: { mode: push.availability } });
    }
  }, [visible, push.availability]);

  if (justEnabled) {
    return (
      <p className="notice" role="status" data-testid="notification-enabled">
        Notifications are on for this browser.
      </p>
    );
  }
  if (!visible) return null;

  const dismiss = () => {
    rememberDismissed(user.uid);
    setDismissed(true);
  };
  const explanation =
    push.availability === 'local'
      ? LOCAL_MODE_TEXT
      : push.availability === 'unsupported'
        ? UNSUPPORTED_TEXT
        : push.availability === 'denied'
          ? DENIED_TEXT
          : 'Get an alert the moment a new job in your categories comes in, even when this ' +
            'tab is in the background.';

  return (
    <section
      className="card prompt"
      data-testid="notification-prompt"
      data-mode={push.availability ?? ''}
      aria-labelledby="notification-prompt-title"
    >
      <h2 id="notification-prompt-title">
        {push.availability === 'available' ? 'Enable notifications' : 'Notifications'}
      </h2>
      <p data-testid="notification-prompt-text">{explanation}</p>
      <ErrorNote
        message={
          enabling.error && `${enabling.error} Your in-app inbox still shows every notification.`
        }
        testId="notification-error"
      />
      <div className="actions">
        {push.availability === 'available' ? (
          <>
            <button
              type="button"
              data-testid="enable-notifications"
              disabled={enabling.busy}
              onClick={() =>
                void enabling.run().then((done) => {
                  if (done) setJustEnabled(true);
                })
              }
            >
              {enabling.busy ? 'Enabling…' : 'Enable notifications'}
            </button>
            <button
              type="button"
              className="secondary"
              data-testid="dismiss-notification-prompt"
              onClick={dismiss}
            >
              Not now
            </button>
          </>
        ) : (
          <button
            type="button"
            className="secondary"
            data-testid="dismiss-notification-prompt"
            onClick={dismiss}
          >
            Got it
          </button>
        )}
      </div>
    </section>
  );
}

/** The notification section of the settings page: state here, turn on or off. */
export function NotificationSettings() {
  const { user } = useSignedIn();
  const push = usePushState(user.uid);
  const enabling = useEnablePush(user.uid, push, 'settings');
  const disabling = useAction(async () => {
    await forgetDevice();
    push.setEnabled(false);
  });

  let text: string;
  if (push.availability === null) text = 'Checking this browser…';
  else if (push.availability === 'local') text = LOCAL_MODE_TEXT;
  else if (push.availability === 'unsupported') text = UNSUPPORTED_TEXT;
  else if (push.availability === 'denied') text = DENIED_TEXT;
  else if (push.enabled) text = 'Push notifications are on for this browser.';
  else text = 'Push notifications are off for this browser.';

  const state =
    push.availability === 'available' ? (push.enabled ? 'on' : 'off') : push.availability;
  return (
    <section className="card" data-testid="notification-settings" data-state={state ?? ''}>
      <h2>Notifications</h2>
      <p data-testid="notification-settings-text">{text}</p>
      <ErrorNote message={enabling.error ?? disabling.error} testId="notification-error" />
      {push.availability === 'available' && (
        <div className="actions">
          {push.enabled ? (
            <button
              type="button"
              className="secondary"
              data-testid="disable-notifications"
              disabled={disabling.busy}
              onClick={() => void disabling.run()}
            >
              {disabling.busy ? 'Turning off…' : 'Turn off for this browser'}
            </button>
          ) : (
            <button
              type="button"
              data-testid="enable-notifications"
              disabled={enabling.busy}
              onClick={() => void enabling.run()}
            >
              {enabling.busy ? 'Enabling…' : 'Enable notifications'}
            </button>
          )}
        </div>
      )}
    </section>
  );
}
