/**
 * `/admin`: the operations dashboard for the 15-minute promise — the KPIs of `dispatch_report`
 * over a window, the payments waiting for an admin's decision, and the audit trail of any one
 * request (`/admin?request=ID`).
 */
import { PaymentAttention } from './attention/PaymentAttention';
import { AuditTrail } from './audit/AuditTrail';
import { DispatchKpis } from './kpis/DispatchKpis';

export function AdminPage() {
  return (
    <div className="page admin-dashboard" data-testid="admin-dashboard">
      <DispatchKpis />
      <PaymentAttention />
      <AuditTrail />
    </div>
  );
}
