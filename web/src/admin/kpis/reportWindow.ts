/** The report's window: presets ending now, or a custom start and end in the browser's zone. */
import type { DispatchReportInput } from '../../callables';

export interface Preset {
  value: '24h' | '7d' | '30d';
  label: string;
  hours: number;
}
export type WindowChoice = Preset['value'] | 'custom';

export const PRESETS: readonly Preset[] = [
  { value: '24h', label: 'Last 24 hours', hours: 24 },
  { value: '7d', label: 'Last 7 days', hours: 7 * 24 },
  { value: '30d', label: 'Last 30 days', hours: 30 * 24 },
];
export const DEFAULT_PRESET = PRESETS[0];

export const HOUR_MS = 60 * 60 * 1000;

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `date` in ISO-8601 with the browser's own offset: "2025-03-01T14:05:00-06:00". */
function isoWithOffset(date: Date): string {
  const east = -date.getTimezoneOffset();
  const sign = east >= 0 ? '+' : '-';
  const offset = `${sign}${pad(Math.floor(Math.abs(east) / 60))}:${pad(Math.abs(east) % 60)}`;
  return `${localInputValue(date)}:${pad(date.getSeconds())}${offset}`;
}

/** `date` as the value of an `<input type="datetime-local">` ("2025-03-01T14:05"). */
export function localInputValue(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** A datetime-local value (local time, no offset) as a Date; null when empty or invalid. */
function parseLocalInput(value: string): Date | null {
  if (!value) return null;
  const date = new Date(value); // a date-time without an offset is local time
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A preset ends now: only `since` is sent, and the server's clock decides `until`. */
export function presetInput(preset: Preset): DispatchReportInput {
  return { since: isoWithOffset(new Date(Date.now() - preset.hours * HOUR_MS)) };
}

/** The callable's input for a choice, or a message saying what is wrong with the custom one. */
export function windowInput(
  choice: WindowChoice,
  since: string,
  until: string,
): DispatchReportInput | string {
  const preset = PRESETS.find((p) => p.value === choice);
  if (preset) return presetInput(preset);
  const from = parseLocalInput(since);
  const to = parseLocalInput(until);
  if (!from || !to) return 'Choose both the start and the end of the window.';
  if (from >= to) return 'The start of the window must be before its end.';
  return { since: isoWithOffset(from), until: isoWithOffset(to) };
}
