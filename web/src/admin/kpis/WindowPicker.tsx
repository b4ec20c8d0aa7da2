/** The report window's form (a preset, or a custom start and end) and the answered window. */
import type { FormEvent } from 'react';
import { PRESETS, type WindowChoice } from './reportWindow';

export function WindowPicker({
  choice,
  since,
  until,
  loading,
  onChoose,
  onSince,
  onUntil,
  onSubmit,
}: {
  choice: WindowChoice;
  since: string;
  until: string;
  loading: boolean;
  onChoose: (choice: WindowChoice) => void;
  onSince: (value: string) => void;
  onUntil: (value: string) => void;
  onSubmit: (event: FormEvent) => void;
}) {
  return (
    <form className="window-form" onSubmit={onSubmit}>
      <label className="field">
        Window
        <select
          value={choice}
          onChange={(event) => onChoose(event.target.value as WindowChoice)}
          data-testid="report-window"
        >
          {PRESETS.map((preset) => (
            <option key={preset.value} value={preset.value}>
              {preset.label}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {choice === 'custom' && (
        <>
          <label className="field">
            From
            <input
              type="datetime-local"
              value={since}
              onChange={(event) => onSince(event.target.value)}
              data-testid="report-since"
            />
          </label>
          <label className="field">
            To
            <input
              type="datetime-local"
              value={until}
              onChange={(event) => onUntil(event.target.value)}
              data-testid="report-until"
            />
          </label>
        </>
      )}
      <button type="submit" className="secondary" disabled={loading} data-testid="report-refresh">
        {loading ? 'Loading…' : 'Refresh'}
      </button>
    </form>
  );
}

/** The window the server answered for, readable; the raw ISO strings as data attributes. */
export function WindowLine({ since, until }: { since: string; until: string }) {
  const format = (iso: string) => {
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? iso
      : date.toLocaleString(undefined, {
          month: 'short',
          day: 'numeric',
          hour: 'numeric',
          minute: '2-digit',
        });
  };
  return (
    <small
      className="muted"
      data-testid="report-window-range"
      data-since={since}
      data-until={until}
    >
      {format(since)} – {format(until)}
    </small>
  );
}
