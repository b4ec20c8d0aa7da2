/** Calls `dispatch_report`; only the answer to the latest call is kept. */
import { useCallback, useRef, useState } from 'react';
import {
  dispatchReport,
  errorMessage,
  type DispatchReport,
  type DispatchReportInput,
} from '../../callables';

interface ReportState {
  report: DispatchReport | null;
  error: string | null;
  loading: boolean;
}

export function useDispatchReport() {
  const [state, setState] = useState<ReportState>({ report: null, error: null, loading: true });
  const latest = useRef(0);
  const load = useCallback(async (input: DispatchReportInput) => {
    const call = ++latest.current;
    setState((prev) => ({ ...prev, error: null, loading: true }));
    try {
      const report = await dispatchReport(input);
      if (call === latest.current) setState({ report, error: null, loading: false });
    } catch (err) {
      console.warn(err);
      if (call === latest.current) {
        setState({ report: null, error: errorMessage(err), loading: false });
      }
    }
  }, []);
  return { ...state, load };
}
