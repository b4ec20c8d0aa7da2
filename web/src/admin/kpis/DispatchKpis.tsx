/** The KPIs of `dispatch_report` over a chosen window: the picker, then the report. */
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorNote, Loading } from '../../components/Feedback';
import { Report } from './Report';
import {
  DEFAULT_PRESET,
  HOUR_MS,
  localInputValue,
  presetInput,
  windowInput,
  type WindowChoice,
} from './reportWindow';
import { useDispatchReport } from './useDispatchReport';
import { WindowLine, WindowPicker } from './WindowPicker';

export function DispatchKpis() {
  const { report, error, loading, load } = useDispatchReport();
  const [choice, setChoice] = useState<WindowChoice>(DEFAULT_PRESET.value);
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [windowError, setWindowError] = useState<string | null>(null);

  const refresh = (next: WindowChoice = choice) => {
    const input = windowInput(next, since, until);
    if (typeof input === 'string') {
      setWindowError(input);
      return;
    }
    setWindowError(null);
    void load(input);
  };

  useEffect(() => {
    void load(presetInput(DEFAULT_PRESET));
  }, [load]);

  const choose = (next: WindowChoice) => {
    setChoice(next);
    setWindowError(null);
    if (next !== 'custom') {
      refresh(next);
      return;
    }
    // Start the custom window from the one on screen; it loads on Refresh.
    const shown = report?.window;
    const end = (shown && new Date(shown.until)) || new Date();
    const start = (shown && new Date(shown.since)) || new Date(end.getTime() - 24 * HOUR_MS);
    if (!since) setSince(localInputValue(start));
    if (!until) setUntil(localInputValue(end));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    refresh();
  };

  return (
    <section
      className="card kpis"
      aria-labelledby="kpis-title"
      aria-busy={loading}
      data-loading={loading ? 'true' : 'false'}
    >
      <div className="card-title">
        <h1 id="kpis-title">The 15-minute promise</h1>
        {report && <WindowLine since={report.window.since} until={report.window.until} />}
      </div>
      <WindowPicker
        choice={choice}
        since={since}
        until={until}
        loading={loading}
        onChoose={choose}
        onSince={setSince}
        onUntil={setUntil}
        onSubmit={submit}
      />
      <ErrorNote message={windowError} testId="report-window-error" />
      <ErrorNote
        message={error && `The report could not be loaded: ${error}`}
        testId="report-error"
      />
      {report ? (
        <Report report={report} />
      ) : (
        loading && <Loading label="Loading the dispatch report…" />
      )}
    </section>
  );
}
