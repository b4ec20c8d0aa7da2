/** `/helper/settings`: name, categories, phone, quiet hours, alert budget, notifications. */
import type { Timestamp } from 'firebase/firestore';
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorNote, Loading } from '../components/Feedback';
import { NotificationSettings } from '../components/NotificationPrompt';
import { useAction, useLive } from '../hooks';
import {
  ALERTS_PER_HOUR_MAX,
  CATEGORIES,
  alertBudget,
  categoryLabel,
  formatClock,
  millis,
  type Category,
  type HelperAlerts,
  type Profile,
} from '../model';
import { watchHelperAlerts } from '../queries';
import { useSignedIn } from '../session/AuthProvider';
import { updateOwnProfile } from '../writes';

const E164 = /^\+[1-9][0-9]{6,14}$/;
const WHOLE_NUMBER = /^[0-9]{1,2}$/;
const CLOCK = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const COMMON_TIME_ZONES = [
  'America/New_York',
  'America/Chicago',
  'America/Denver',
  'America/Phoenix',
  'America/Los_Angeles',
  'America/Anchorage',
  'Pacific/Honolulu',
];

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'America/Chicago';
  } catch {
    return 'America/Chicago';
  }
}

function isTimeZone(tz: string): boolean {
  if (tz.length < 1 || tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function HelperSettingsPage() {
  const { profile } = useSignedIn();
  return (
    <div className="page">
      {profile ? <ProfileForm profile={profile} /> : <Loading label="Loading your profile…" />}
      <NotificationSettings />
    </div>
  );
}

function ProfileForm({ profile }: { profile: Profile }) {
  const { user } = useSignedIn();
  const [displayName, setDisplayName] = useState(profile.displayName ?? '');
  const [categories, setCategories] = useState<Category[]>(profile.categories ?? []);
  const [phone, setPhone] = useState(profile.phone ?? '');
  const [quiet, setQuiet] = useState(profile.quietHours != null);
  const [start, setStart] = useState(profile.quietHours?.start ?? '22:00');
  const [end, setEnd] = useState(profile.quietHours?.end ?? '07:00');
  const [tz, setTz] = useState(profile.quietHours?.tz ?? browserTimeZone());
  // empty: the project's budget (MAX_JOB_ALERTS_PER_HOUR)
  const [alertsPerHour, setAlertsPerHour] = useState(
    typeof profile.maxJobAlertsPerHour === 'number' ? String(profile.maxJobAlertsPerHour) : '',
  );
  const [validation, setValidation] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const save = useAction(async () => {
    await updateOwnProfile(user.uid, {
      displayName: displayName.trim(),
      // keep the order of the list, whatever the order of the clicks
      categories: CATEGORIES.filter((c) => categories.includes(c)),
      phone: phone.trim() || null,
      quietHours: quiet ? { start, end, tz: tz.trim() } : null,
      maxJobAlertsPerHour: alertsPerHour.trim() === '' ? null : Number(alertsPerHour.trim()),
    });
    setSaved(true);
  });

  const changed =
    <T,>(setter: (value: T) => void) =>
    (value: T) => {
      setSaved(false);
      setValidation(null);
      setter(value);
    };

  const toggleCategory = (category: Category, on: boolean) =>
    changed(setCategories)(
      on ? [...categories, category] : categories.filter((c) => c !== category),
    );

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const name = displayName.trim();
    if (name.length < 1 || name.length > 80)
      return setValidation('Enter a name (1–80 characters).');
    if (phone.trim() && !E164.test(phone.trim())) {
      return setValidation('Enter the phone number in international form, e.g. +15125550100.');
    }
    if (quiet && (!CLOCK.test(start) || !CLOCK.test(end))) {
      return setValidation('Quiet hours need a start and an end time (HH:MM).');
    }
    if (quiet && !isTimeZone(tz.trim())) {
      return setValidation('Quiet hours need a time zone, e.g. America/Chicago.');
    }
    const perHour = alertsPerHour.trim();
    if (perHour && !(WHOLE_NUMBER.test(perHour) && Number(perHour) <= ALERTS_PER_HOUR_MAX)) {
      return setValidation(
        `New-job alerts per hour: a whole number from 0 to ${ALERTS_PER_HOUR_MAX}, or empty ` +
          'for the standard budget.',
      );
    }
    void save.run();
  };

  return (
    <section className="card">
      <h1>Settings</h1>
      <form className="form" onSubmit={onSubmit} data-testid="settings-form" noValidate>
        <label>
          Your name (customers see it)
          <input
            type="text"
            maxLength={80}
            value={displayName}
            onChange={(e) => changed(setDisplayName)(e.target.value)}
            data-testid="settings-display-name"
          />
        </label>
        <fieldset>
          <legend>Categories you serve</legend>
          <p className="muted small">None ticked means every category.</p>
          <div className="checks">
            {CATEGORIES.map((category) => (
              <label key={category} className="check">
                <input
                  type="checkbox"
                  checked={categories.includes(category)}
                  onChange={(e) => toggleCategory(category, e.target.checked)}
                  data-testid={`settings-category-${category}`}
                />
                {categoryLabel(category)}
              </label>
            ))}
          </div>
        </fieldset>
        <label>
          Mobile phone for text alerts
          <input
            type="tel"
            inputMode="tel"
            autoComplete="tel"
            placeholder="+15125550100"
            value={phone}
            onChange={(e) => changed(setPhone)(e.target.value)}
            data-testid="settings-phone"
          />
        </label>
        <p className="muted" data-testid="settings-phone-hint">
          With a number here, new jobs come by text instead of a push (past the hourly limit of
          texts, by push again). Leave it empty to get them in the app only.
        </p>
        <fieldset>
          <legend>Quiet hours</legend>
          <label className="check">
            <input
              type="checkbox"
              checked={quiet}
              onChange={(e) => changed(setQuiet)(e.target.checked)}
              data-testid="settings-quiet-enabled"
            />
            No new-job alerts during quiet hours
          </label>
          {quiet && (
            <div className="row">
              <label>
                From
                <input
                  type="time"
                  value={start}
                  onChange={(e) => changed(setStart)(e.target.value)}
                  data-testid="settings-quiet-start"
                />
              </label>
              <label>
                To
                <input
                  type="time"
                  value={end}
                  onChange={(e) => changed(setEnd)(e.target.value)}
                  data-testid="settings-quiet-end"
                />
              </label>
              <label className="grow">
                Time zone
                <input
                  type="text"
                  list="time-zones"
                  value={tz}
                  onChange={(e) => changed(setTz)(e.target.value)}
                  data-testid="settings-quiet-tz"
                />
                <datalist id="time-zones">
                  {COMMON_TIME_ZONES.map((zone) => (
                    <option key={zone} value={zone} />
                  ))}
                </datalist>
              </label>
            </div>
          )}
        </fieldset>
        <fieldset>
          <legend>New-job alerts</legend>
          <label>
            New-job alerts per hour
            <input
              type="number"
              inputMode="numeric"
              min={0}
              max={ALERTS_PER_HOUR_MAX}
              step={1}
              placeholder="Standard"
              value={alertsPerHour}
              onChange={(e) => changed(setAlertsPerHour)(e.target.value)}
              data-testid="settings-alerts-per-hour"
            />
          </label>
          <p className="muted small">
            0 = no alerts: you find new jobs on the job board. Empty = the standard budget. You
            never get more alerts than the service's own limit, whatever you choose here.
          </p>
          <AlertBudgetStatus
            uid={user.uid}
            own={profile.maxJobAlertsPerHour}
            ownSince={profile.updatedAt}
          />
        </fieldset>
        <ErrorNote message={validation ?? save.error} testId="settings-error" />
        {saved && (
          <p className="notice" role="status" data-testid="settings-saved">
            Saved.
          </p>
        )}
        <button type="submit" disabled={save.busy} data-testid="settings-save">
          {save.busy ? 'Saving…' : 'Save settings'}
        </button>
      </form>
    </section>
  );
}

/**
 * Where the helper's alert budget stands (`helperAlerts/{uid}`, written by the server with
 * every new-job alert): "N of M alerts used in the last hour", and when used up, when they
 * resume. Re-reads the clock when the oldest counted alert leaves the hour.
 */
function AlertBudgetStatus({
  uid,
  own,
  ownSince,
}: {
  uid: string;
  own: number | null | undefined;
  /** When the profile was last saved: a budget state written before knows an older choice. */
  ownSince: Timestamp | null | undefined;
}) {
  const state = useLive<HelperAlerts | null>(uid, (onNext, onError) =>
    watchHelperAlerts(uid, onNext, onError),
  );
  const [now, setNow] = useState(() => Date.now());
  const budget = alertBudget(state.data, own, now);
  // The server writes min(own, MAX_JOB_ALERTS_PER_HOUR): a limit below the choice, written
  // after the choice was saved, is the service's cap.
  const written = state.data?.updatedAt ? state.data.updatedAt.toMillis() : 0;
  const serverLimit =
    typeof state.data?.limit === 'number' && written > millis(ownSince) ? state.data.limit : null;
  const nextChange = budget.nextChangeAt?.getTime() ?? null;

  useEffect(() => {
    if (nextChange === null) return undefined;
    const timer = window.setTimeout(() => setNow(Date.now()), Math.max(0, nextChange - now) + 250);
    return () => window.clearTimeout(timer);
  }, [nextChange, now]);
  useEffect(() => setNow(Date.now()), [state.data]); // a new alert: count it at once

  if (state.error) {
    return (
      <ErrorNote
        message={`Your alert budget could not be loaded (${state.error.message}).`}
        testId="alert-budget-error"
      />
    );
  }
  if (state.loading) return <Loading label="Loading your alert budget…" />;

  const attributes = {
    'data-testid': 'alert-budget',
    'data-used': budget.used,
    'data-limit': budget.limit ?? '',
    'data-used-up': budget.usedUp ? 'true' : 'false',
  };
  if (budget.limit === 0) {
    return (
      <p className="muted" role="status" {...attributes}>
        New-job alerts are off: new jobs show only on the job board.
      </p>
    );
  }
  if (budget.limit === null) {
    return (
      <p className="muted" role="status" {...attributes}>
        No new-job alerts in the last hour.
      </p>
    );
  }
  return (
    <div role="status" {...attributes}>
      <p className="muted" data-testid="alert-budget-used">
        {budget.used} of {budget.limit} alerts used in the last hour
      </p>
      {typeof own === 'number' && serverLimit !== null && own > serverLimit && (
        <p className="muted small" data-testid="alert-budget-capped">
          The service sends at most {serverLimit} new-job alerts an hour, so that is what you get.
        </p>
      )}
      {budget.usedUp && budget.resumesAt && (
        <p className="warning" data-testid="alert-budget-used-up">
          Alert budget used up: new jobs still show on the job board; alerts resume at{' '}
          {formatClock(budget.resumesAt)}
        </p>
      )}
    </div>
  );
}
