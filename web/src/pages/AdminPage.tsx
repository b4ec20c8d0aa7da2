/** `/admin`: a placeholder until the operations dashboard (KPIs, audit trails) is built. */
export function AdminPage() {
  return (
    <div className="page">
      <section className="card" data-testid="admin-placeholder">
        <h1>Operations dashboard — coming soon</h1>
        <p className="muted">Dispatch KPIs, request audit trails and refunds will appear here.</p>
      </section>
    </div>
  );
}
