/** Any other path. */
import { Link } from 'react-router';

export function NotFoundPage() {
  return (
    <div className="page">
      <section className="card" data-testid="not-found">
        <h1>Page not found</h1>
        <p>
          <Link to="/">Go to HomePro Assist</Link>
        </p>
      </section>
    </div>
  );
}
