/**
 * A page that fails to render or to load (its chunk gone after a deploy, the network down) shows
 * a way back instead of a blank app; the header and the inbox stay.
 */
import { Component, type ErrorInfo, type ReactNode } from 'react';

type State = { error: Error | null };

export class PageErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('page failed', error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <section className="card" role="alert" data-testid="page-load-error">
        <h1>This page could not be loaded</h1>
        <p className="muted">
          A new version may have been published, or the connection dropped. Reload to try again.
        </p>
        <button type="button" className="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </section>
    );
  }
}
